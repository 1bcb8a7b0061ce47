//! Every preset trains and its loss falls; save → load gives identical outputs; devices; sweeps.

use joulebench_data::{Dataset, DatasetKind, Pixels, Split};
use joulebench_inference::Backend;
use joulebench_models::{
    build_preset, preset_info, Loss, PresetOptions, Readout, RunDir, Tensor as JTensor, Weights,
    PRESETS,
};
use joulebench_training::batches::DeviceSplit;
use joulebench_training::sweep::{run_name, SweepFile};
use joulebench_training::{
    evaluate, train, DeviceChoice, Net, TchBackend, TrainConfig, TrainOptions, TrainOverrides,
};
use tch::Device;

/// Synthetic 28×28 images: class k draws a bright 4-pixel-wide vertical bar at column 2 + 2k
/// plus seeded noise. Learnable in one short epoch by every 2-D preset.
fn synthetic_images(n_train: usize, n_test: usize) -> Dataset {
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut make = |n: usize| {
        let mut px = vec![0u8; n * 784];
        let mut labels = vec![0u8; n];
        for i in 0..n {
            let k = (next() % 10) as usize;
            labels[i] = k as u8;
            for y in 0..28 {
                for x in 0..28 {
                    let bar = x >= 2 + 2 * k && x < 6 + 2 * k && (4..24).contains(&y);
                    let noise = (next() % 60) as u8;
                    px[i * 784 + y * 28 + x] = if bar { 255 - noise } else { noise };
                }
            }
        }
        Split::new(vec![1, 28, 28], Pixels::U8(px), labels).unwrap()
    };
    let train = make(n_train);
    let test = make(n_test);
    Dataset {
        kind: DatasetKind::Mnist,
        train,
        test,
        source: "synthetic bars".into(),
    }
}

fn mnist1d(n_train: usize, n_test: usize) -> Dataset {
    Dataset::load(DatasetKind::Mnist1d, None)
        .unwrap()
        .truncate(n_train, n_test)
}

fn quick_config(preset: &str, ds: &Dataset, epochs: usize) -> TrainConfig {
    let o = TrainOverrides {
        options: PresetOptions {
            steps: if preset.ends_with("temporal") {
                Some(8)
            } else {
                None
            },
            width: if preset == "mlp-sweep" {
                Some(64)
            } else {
                None
            },
            ..Default::default()
        },
        batch_size: Some(32),
        epochs: Some(epochs),
        lr: Some(if preset_info(preset).unwrap().defaults.lr < 1e-3 {
            2e-3
        } else {
            preset_info(preset).unwrap().defaults.lr
        }),
        device: Some(DeviceChoice::Cpu),
        seed: Some(1),
        ..Default::default()
    };
    TrainConfig::resolve(preset, ds.name(), &o).unwrap()
}

/// Every preset, on data it fits (MNIST-1D for 1-D-capable presets, synthetic images for the
/// image-only ones): the test loss after one short epoch is below the loss at initialisation.
#[test]
fn every_preset_trains_and_its_loss_falls() {
    let one_d = mnist1d(640, 256);
    let images = synthetic_images(320, 128);
    let tmp = tempfile::tempdir().unwrap();
    for info in PRESETS {
        // the RNN reads MNIST-1D as 40 steps of one value, too slow to learn in a test: images
        let use_images = info.needs_2d || info.name == "rnn";
        let ds = if use_images { &images } else { &one_d };
        let epochs = if use_images { 1 } else { 2 };
        let cfg = quick_config(info.name, ds, epochs);
        let spec = build_preset(info.name, &ds.data_shape(), &cfg.options).unwrap();
        tch::manual_seed(cfg.seed as i64);
        let fresh = Net::new(&spec, Device::Cpu).unwrap();
        let test = DeviceSplit::new(&ds.test, &spec, Device::Cpu).unwrap();
        let (loss0, _) = evaluate(&fresh, &test, 64, cfg.seed).unwrap();
        let run = RunDir::new(tmp.path().join(info.name));
        let out = train(
            &cfg,
            ds,
            &run,
            TrainOptions {
                quiet: true,
                hook: None,
            },
        )
        .unwrap();
        let last = out.metrics.last().unwrap();
        let loss1 = last.test_loss.unwrap();
        assert!(
            loss1 < loss0,
            "{}: test loss {loss0} → {loss1} did not fall",
            info.name
        );
        assert!(run.is_done() && run.weights_path().is_file() && run.spec_path().is_file());
        assert_eq!(out.metrics.epochs.len(), epochs);
        assert!(last.samples_per_s > 0.0 && last.wall_s > 0.0);
    }
}

/// `--loss per-step`: the mean over time steps of each step's cross-entropy — of the output
/// membrane for membrane readouts (whose mean over steps is the logits), of the output spikes
/// for a spike-count readout (whose sum is the logits) —, the readout's loss for one-step nets;
/// and a temporal net trains with it (loss falls).
#[test]
fn per_step_loss_averages_every_steps_cross_entropy() {
    use joulebench_training::batches::train_input;
    use joulebench_training::trainer::training_loss;
    let ds = mnist1d(640, 256);
    let y = tch::Tensor::from_slice(&[3i64, 0, 7, 9]);
    for (preset, readout, steps) in [
        ("snn-temporal", Readout::MembraneMean, 6),
        ("snn-temporal", Readout::SpikeCount, 5),
        ("snn-1step", Readout::MembraneLast, 1),
    ] {
        let o = PresetOptions {
            steps: (steps > 1).then_some(steps),
            readout: Some(readout),
            ..Default::default()
        };
        let spec = build_preset(preset, &ds.data_shape(), &o).unwrap();
        tch::manual_seed(5);
        let net = Net::new(&spec, Device::Cpu).unwrap();
        // fresh weights ×4 so that the output layer spikes (else every S[t] is 0 and the two
        // losses coincide at ln 10)
        tch::no_grad(|| {
            for (_, mut v) in net.vs.variables() {
                let _ = v.g_mul_scalar_(4.0);
            }
        });
        let x = tch::Tensor::rand([4, 1, 40], (tch::Kind::Float, Device::Cpu));
        let out = net.forward_train(&train_input(&spec, &x), 0.0).unwrap();
        assert_eq!(out.per_step.size(), [steps as i64, 4, 10], "{preset}");
        let reduced = match readout {
            Readout::SpikeCount => out.per_step.sum_dim_intlist(0i64, false, tch::Kind::Float),
            Readout::MembraneLast => out.per_step.get(steps as i64 - 1),
            _ => out.per_step.mean_dim(0i64, false, tch::Kind::Float),
        };
        assert!(reduced.allclose(&out.logits, 1e-6, 1e-6, false), "{preset}");
        let by_hand: f64 = (0..steps as i64)
            .map(|t| {
                out.per_step
                    .get(t)
                    .cross_entropy_for_logits(&y)
                    .double_value(&[])
            })
            .sum::<f64>()
            / steps as f64;
        let per_step = training_loss(Loss::PerStep, 0.0, &out, &y).double_value(&[]);
        let readout_loss = training_loss(Loss::Readout, 0.0, &out, &y).double_value(&[]);
        assert!(
            (per_step - by_hand).abs() < 1e-5,
            "{preset}: {per_step} vs {by_hand}"
        );
        if steps == 1 {
            assert!((per_step - readout_loss).abs() < 1e-6, "{preset}");
        } else {
            assert!(
                (per_step - readout_loss).abs() > 1e-4,
                "{preset} {readout:?}: per-step loss equals the readout's ({per_step})"
            );
        }
    }
    let mut cfg = quick_config("snn-temporal", &ds, 2);
    cfg.loss = Loss::PerStep;
    let spec = build_preset("snn-temporal", &ds.data_shape(), &cfg.options).unwrap();
    tch::manual_seed(cfg.seed as i64);
    let fresh = Net::new(&spec, Device::Cpu).unwrap();
    let test = DeviceSplit::new(&ds.test, &spec, Device::Cpu).unwrap();
    let (loss0, _) = evaluate(&fresh, &test, 64, cfg.seed).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = train(
        &cfg,
        &ds,
        &RunDir::new(tmp.path().join("r")),
        TrainOptions {
            quiet: true,
            hook: None,
        },
    )
    .unwrap();
    let loss1 = out.metrics.last().unwrap().test_loss.unwrap();
    assert!(loss1 < loss0, "per-step loss: test loss {loss0} → {loss1}");
}

/// Weights saved to safetensors and loaded into a fresh network (through `TchBackend`) give
/// bit-identical logits; names match `ModelSpec::parameters()`.
#[test]
fn save_load_gives_identical_outputs() {
    let ds = mnist1d(256, 64);
    let tmp = tempfile::tempdir().unwrap();
    for preset in ["mlp1d", "rnn", "cnn1d", "snn-temporal", "snn-1step"] {
        let cfg = quick_config(preset, &ds, 1);
        let run = RunDir::new(tmp.path().join(preset));
        let out = train(
            &cfg,
            &ds,
            &run,
            TrainOptions {
                quiet: true,
                hook: None,
            },
        )
        .unwrap();
        let spec = out.spec.clone();
        let names: Vec<String> = spec.parameters().into_iter().map(|p| p.name).collect();
        let w = Weights::load(&run.weights_path()).unwrap();
        assert_eq!(w.tensors.keys().cloned().collect::<Vec<_>>(), {
            let mut n = names.clone();
            n.sort();
            n
        });
        // an input batch in the model's layout
        let shape = spec.batch_input_shape(5);
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| {
                if spec.is_spiking() && spec.steps > 1 {
                    ((i * 7) % 3 == 0) as u8 as f32
                } else {
                    ((i * 37) % 101) as f32 / 50.0 - 1.0
                }
            })
            .collect();
        let input = JTensor::new(shape.clone(), data).unwrap();
        let x = joulebench_training::weights_io::from_jtensor(&input, Device::Cpu);
        // the same intra-op thread count as the backend below (GEMM sums differ across counts)
        tch::set_num_threads(1);
        let before = tch::no_grad(|| out.net.forward(&x)).unwrap();
        let before = joulebench_training::weights_io::to_jtensor(&before).unwrap();
        let mut backend = TchBackend::load(&run, DeviceChoice::Cpu, 1).unwrap();
        assert_eq!(backend.name(), "tch");
        assert_eq!(backend.threads(), 1);
        let after = backend.run(&input).unwrap();
        assert_eq!(before, after, "{preset}: outputs differ after save → load");
        // wrong input shape: an error, not a panic
        let bad = JTensor::zeros(vec![5, 3]);
        assert!(backend.run(&bad).is_err());
    }
}

/// `auto` picks the CPU when there is no GPU; `cuda` is refused with a clear message then. On a
/// GPU machine, the CUDA forward agrees with the CPU one.
#[test]
fn device_selection() {
    let auto = DeviceChoice::Auto.resolve().unwrap();
    if tch::Cuda::is_available() {
        assert!(matches!(auto, Device::Cuda(0)));
        let ds = mnist1d(64, 32);
        let spec = build_preset("snn-1step", &ds.data_shape(), &PresetOptions::default()).unwrap();
        let w = Weights::random(&spec, 5);
        let cpu = Net::with_weights(&spec, &w, Device::Cpu).unwrap();
        let gpu = Net::with_weights(&spec, &w, Device::Cuda(0)).unwrap();
        let x = tch::Tensor::randn([1, 8, 1, 40], (tch::Kind::Float, Device::Cpu));
        let a = tch::no_grad(|| cpu.forward(&x)).unwrap();
        let b = tch::no_grad(|| gpu.forward(&x.to_device(Device::Cuda(0))))
            .unwrap()
            .to_device(Device::Cpu);
        let d = (a - b).abs().max().double_value(&[]);
        assert!(d < 1e-3, "cpu vs cuda logits differ by {d}");
    } else {
        assert_eq!(auto, Device::Cpu);
        let err = DeviceChoice::Cuda(0).resolve().unwrap_err().to_string();
        assert!(
            err.contains("CUDA") && err.contains("--device cpu"),
            "{err}"
        );
        assert!("cuda:1".parse::<DeviceChoice>().unwrap() == DeviceChoice::Cuda(1));
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }
}

#[test]
fn bad_configs_are_refused() {
    let r = |o: TrainOverrides| {
        TrainConfig::resolve("mlp", "mnist1d", &o)
            .unwrap_err()
            .to_string()
    };
    assert!(r(TrainOverrides {
        lr: Some(0.0),
        ..Default::default()
    })
    .contains("learning rate"));
    assert!(r(TrainOverrides {
        lr: Some(-1.0),
        ..Default::default()
    })
    .contains("learning rate"));
    assert!(r(TrainOverrides {
        lr: Some(f64::NAN),
        ..Default::default()
    })
    .contains("learning rate"));
    assert!(r(TrainOverrides {
        batch_size: Some(0),
        ..Default::default()
    })
    .contains("batch"));
    assert!(r(TrainOverrides {
        options: PresetOptions {
            width: Some(0),
            ..Default::default()
        },
        ..Default::default()
    })
    .contains("width"));
    assert!(r(TrainOverrides {
        options: PresetOptions {
            steps: Some(0),
            ..Default::default()
        },
        ..Default::default()
    })
    .contains("steps"));
    assert!(
        TrainConfig::resolve("resnet", "mnist1d", &TrainOverrides::default())
            .unwrap_err()
            .to_string()
            .contains("unknown preset")
    );
}

#[test]
fn sweep_files_parse_plan_and_reject_unknown_keys() {
    let s = SweepFile::parse(
        "dataset = \"mnist\"\nmodel = \"mlp-sweep\"\noptimizer = [\"adam\", \"sgd\"]\nlr = [0.001, 0.1]\nwidth = [8, 64]\nepochs = 1\n",
    )
    .unwrap();
    let plan = s.plan().unwrap();
    assert_eq!(plan.len(), 8);
    assert_eq!(plan[0].name, "mlp-sweep_mnist_adam_lr0.001_b64_e1_w8_s0");
    assert_eq!(plan[0].name, run_name(&plan[0].config));
    let names: std::collections::BTreeSet<_> = plan.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names.len(), 8);
    // misspelt key
    let e = SweepFile::parse("dataset = \"mnist\"\nmodel = \"mlp\"\nlearning_rate = 0.1\n")
        .unwrap_err();
    assert!(
        e.contains("learning_rate") && e.contains("unknown field"),
        "{e}"
    );
    // preset/dataset mismatch is caught before anything trains
    let s = SweepFile::parse("dataset = \"mnist1d\"\nmodel = [\"mlp1d\", \"cnn\"]\n").unwrap();
    let e = s.plan().unwrap_err();
    assert!(e.contains("cnn") && e.contains("2-D"), "{e}");
    // bad values
    assert!(
        SweepFile::parse("dataset = \"mnist\"\nmodel = \"mlp\"\nlr = [0.0]\n")
            .unwrap()
            .plan()
            .is_err()
    );
    assert!(
        SweepFile::parse("dataset = \"mnist\"\nmodel = \"mlp\"\ninput = \"resize7\"\n")
            .unwrap()
            .plan()
            .is_err()
    );
    // the spiking knobs reach every planned run's config
    let s = SweepFile::parse(
        "dataset = \"fashion-mnist\"\nmodel = \"csnn-temporal\"\nbeta = 0.5\nthreshold = 0.8\nsurrogate = \"fast-sigmoid\"\nreadout = \"spike-count\"\naugment = \"flip\"\n",
    )
    .unwrap();
    let plan = s.plan().unwrap();
    let o = &plan[0].config.options;
    assert_eq!(o.beta, Some(0.5));
    assert_eq!(o.threshold, Some(0.8));
    assert_eq!(
        o.surrogate,
        Some(joulebench_models::Surrogate::FastSigmoid { slope: 25.0 })
    );
    assert_eq!(o.readout, Some(joulebench_models::Readout::SpikeCount));
    assert_eq!(plan[0].config.augment, joulebench_models::Augment::Flip);
    // schedule is an axis (named in the folder when not constant); loss, validation and the
    // regularizers reach every run
    let s = SweepFile::parse(
        "dataset = \"mnist\"\nmodel = \"ann\"\nschedule = [\"constant\", \"cosine\"]\nseed = [0, 1]\nloss = \"per-step\"\nvalidation = 5000\nweight_decay = 0.001\nlabel_smoothing = 0.1\naugment = \"shift:1\"\n",
    )
    .unwrap();
    let plan = s.plan().unwrap();
    assert_eq!(plan.len(), 4);
    let names: Vec<_> = plan.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ann_mnist_adam_lr0.001_b128_e10_s0",
            "ann_mnist_adam_lr0.001_b128_e10_cosine_s0",
            "ann_mnist_adam_lr0.001_b128_e10_s1",
            "ann_mnist_adam_lr0.001_b128_e10_cosine_s1",
        ]
    );
    assert_eq!(
        plan[1].config.schedule,
        joulebench_models::LrSchedule::Cosine
    );
    assert!(plan.iter().all(|r| r.config.loss == Loss::PerStep
        && r.config.validation == Some(5000)
        && r.config.weight_decay == 0.001
        && r.config.label_smoothing == 0.1
        && r.config.augment == joulebench_models::Augment::Shift(1)));
    for bad in [
        "surrogate = \"relu\"",
        "readout = \"max\"",
        "augment = \"rotate\"",
        "beta = 2.0",
        "schedule = [\"cosine\", \"step\"]",
        "loss = \"mse\"",
        "validation = 0",
        "weight_decay = -0.1",
        "threshold = 0.0",
        "label_smoothing = 1.0",
        "augment = \"shift:0\"",
    ] {
        let text = format!("dataset = \"fashion-mnist\"\nmodel = \"csnn-temporal\"\n{bad}\n");
        assert!(
            SweepFile::parse(&text).unwrap().plan().is_err(),
            "{bad} was accepted"
        );
    }
}

/// The shipped experiment files parse and plan.
#[test]
fn shipped_experiments_plan() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) == Some("toml") {
            let s = SweepFile::load(&p).unwrap();
            let plan = s.plan().unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(!plan.is_empty());
            n += 1;
        }
    }
    assert!(
        n >= 4,
        "expected the reference studies in {}",
        dir.display()
    );
}

/// `flip` mirrors whole images left–right, some and not others, the same ones for the same seed;
/// `none` leaves the batch as it is.
#[test]
fn flip_augmentation_mirrors_seeded_samples() {
    use joulebench_models::Augment;
    use joulebench_training::augment_batch;
    let b = 64i64;
    let x =
        tch::Tensor::arange(b * 2 * 3 * 5, (tch::Kind::Float, Device::Cpu)).reshape([b, 2, 3, 5]);
    let y = augment_batch(Augment::Flip, &x, 7).unwrap();
    let again = augment_batch(Augment::Flip, &x, 7).unwrap();
    assert!(y.equal(&again), "same seed, different augmentation");
    let mirrored = x.flip([3]);
    let mut flipped = Vec::new();
    for i in 0..b {
        let (xi, yi, mi) = (x.get(i), y.get(i), mirrored.get(i));
        let f = yi.equal(&mi);
        assert!(
            f || yi.equal(&xi),
            "sample {i} is neither itself nor its mirror"
        );
        flipped.push(f);
    }
    let n = flipped.iter().filter(|&&f| f).count();
    assert!((16..=48).contains(&n), "{n} of {b} flipped");
    let other = augment_batch(Augment::Flip, &x, 8).unwrap();
    assert!(!other.equal(&y), "another seed flipped the same samples");
    assert!(augment_batch(Augment::None, &x, 7).unwrap().equal(&x));
    assert!(augment_batch(Augment::Flip, &x.reshape([b, 2, 15]), 7).is_err());
}

/// `shift:n` moves every image by one offset in [−n, n]² with the edge repeated — output pixel
/// (r, c) is input pixel (clamp(r − dy), clamp(c − dx)) for every channel —, different samples
/// get different offsets, the same ones for the same seed.
#[test]
fn shift_augmentation_translates_seeded_samples() {
    use joulebench_models::Augment;
    use joulebench_training::augment_batch;
    let (b, c, h, w) = (64i64, 2i64, 5i64, 7i64);
    let x =
        tch::Tensor::arange(b * c * h * w, (tch::Kind::Float, Device::Cpu)).reshape([b, c, h, w]);
    let shifted = |xi: &tch::Tensor, dy: i64, dx: i64| {
        let rows: Vec<i64> = (0..h).map(|r| (r - dy).clamp(0, h - 1)).collect();
        let cols: Vec<i64> = (0..w).map(|q| (q - dx).clamp(0, w - 1)).collect();
        xi.index_select(1, &tch::Tensor::from_slice(&rows))
            .index_select(2, &tch::Tensor::from_slice(&cols))
    };
    for n in [1i64, 2] {
        let y = augment_batch(Augment::Shift(n as u32), &x, 11).unwrap();
        assert!(y.equal(&augment_batch(Augment::Shift(n as u32), &x, 11).unwrap()));
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..b {
            let (xi, yi) = (x.get(i), y.get(i));
            let hits: Vec<(i64, i64)> = (-n..=n)
                .flat_map(|dy| (-n..=n).map(move |dx| (dy, dx)))
                .filter(|&(dy, dx)| yi.equal(&shifted(&xi, dy, dx)))
                .collect();
            assert_eq!(hits.len(), 1, "n {n}, sample {i}: offsets {hits:?}");
            seen.insert(hits[0]);
        }
        // 64 draws of (2n + 1)² offsets: all nine for n = 1, most of the 25 for n = 2
        let want = if n == 1 { 9 } else { 18 };
        assert!(seen.len() >= want, "n {n}: only {} offsets", seen.len());
        let other = augment_batch(Augment::Shift(n as u32), &x, 12).unwrap();
        assert!(!other.equal(&y), "another seed gave the same offsets");
    }
    assert!(augment_batch(Augment::Shift(1), &x.reshape([b, c, h * w]), 1).is_err());
}

/// Label smoothing ε: the loss is PyTorch's `(1 − ε)·CE + ε·mean over classes of −log p`, per
/// time step for the per-step loss; ε = 0 is the plain cross-entropy.
#[test]
fn label_smoothing_matches_its_formula() {
    use joulebench_training::net::NetOutput;
    use joulebench_training::trainer::training_loss;
    tch::manual_seed(3);
    let (t, b, classes) = (3i64, 5i64, 10i64);
    let per_step = tch::Tensor::randn([t, b, classes], (tch::Kind::Float, Device::Cpu)) * 3.0;
    let out = NetOutput {
        logits: per_step.mean_dim(0i64, false, tch::Kind::Float),
        per_step: per_step.shallow_clone(),
        spike_counts: Vec::new(),
    };
    let y = tch::Tensor::from_slice(&[1i64, 0, 9, 4, 4]);
    let by_hand = |logits: &tch::Tensor, eps: f64| -> f64 {
        let logp = logits.log_softmax(-1, tch::Kind::Double);
        let mut sum = 0.0;
        for i in 0..b {
            let row = logp.get(i);
            let label = row.double_value(&[y.int64_value(&[i])]);
            let mean = row.mean(tch::Kind::Double).double_value(&[]);
            sum += -(1.0 - eps) * label - eps * mean;
        }
        sum / b as f64
    };
    for eps in [0.0, 0.1, 0.5] {
        let readout = training_loss(Loss::Readout, eps, &out, &y).double_value(&[]);
        let want = by_hand(&out.logits, eps);
        assert!(
            (readout - want).abs() < 1e-5,
            "ε {eps}: {readout} vs {want}"
        );
        let steps = training_loss(Loss::PerStep, eps, &out, &y).double_value(&[]);
        let want = (0..t).map(|k| by_hand(&per_step.get(k), eps)).sum::<f64>() / t as f64;
        assert!((steps - want).abs() < 1e-5, "ε {eps}: {steps} vs {want}");
    }
}

/// Weight decay as each optimizer defines it, seen on one step with a zero loss gradient:
/// AdamW shrinks the weights by `lr·wd` (decoupled); Adam's L2 term is a gradient `wd·w`, so its
/// first (normalized) step is `lr·sign(w)`; SGD's first step is `lr·wd·w`; no decay, no change.
/// And the defaults: AdamW 0.01, the others 0.
#[test]
fn weight_decay_follows_each_optimizer() {
    use joulebench_models::OptimizerKind;
    use joulebench_training::trainer::optimizer;
    let (lr, wd) = (0.1, 0.5);
    let w0 = [0.5f32, -2.0, 3.0];
    let step = |kind: OptimizerKind, wd: f64| -> Vec<f32> {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &tch::Tensor::from_slice(&w0));
        let mut opt = optimizer(kind, &vs, lr, wd).unwrap();
        opt.backward_step(&(&w * 0.0).sum(tch::Kind::Float));
        Vec::<f32>::try_from(&w.detach()).unwrap()
    };
    let close = |got: &[f32], want: &[f32], what: &str| {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{what}: {got:?} vs {want:?}");
        }
    };
    let scaled = |f: f32| w0.map(|v| v * f);
    close(
        &step(OptimizerKind::AdamW, wd),
        &scaled(1.0 - (lr * wd) as f32),
        "adamw",
    );
    close(
        &step(OptimizerKind::Adam, wd),
        &w0.map(|v| v - lr as f32 * v.signum()),
        "adam",
    );
    close(
        &step(OptimizerKind::Sgd, wd),
        &scaled(1.0 - (lr * wd) as f32),
        "sgd",
    );
    for kind in [
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
        OptimizerKind::Sgd,
    ] {
        close(&step(kind, 0.0), &w0, kind.name());
    }
    let resolve = |optimizer| {
        let o = TrainOverrides {
            optimizer: Some(optimizer),
            ..Default::default()
        };
        TrainConfig::resolve("ann", "mnist", &o)
            .unwrap()
            .weight_decay
    };
    assert_eq!(resolve(OptimizerKind::AdamW), 0.01);
    assert_eq!(resolve(OptimizerKind::Adam), 0.0);
}

/// Training dropout touches only the training forward pass: `forward_train(x, 0)` is `forward`,
/// with p > 0 the logits differ (seeded), and the inference forward is unchanged.
#[test]
fn classifier_dropout_is_training_only() {
    let ds = synthetic_images(8, 8);
    let spec = build_preset("cnn-fashion", &ds.data_shape(), &PresetOptions::default()).unwrap();
    tch::manual_seed(3);
    let net = Net::new(&spec, Device::Cpu).unwrap();
    let x = tch::Tensor::randn([4, 1, 28, 28], (tch::Kind::Float, Device::Cpu));
    let y0 = net.forward(&x).unwrap();
    assert!(net.forward_train(&x, 0.0).unwrap().logits.equal(&y0));
    let yd = net.forward_train(&x, 0.5).unwrap().logits;
    assert!(
        !yd.allclose(&y0, 1e-6, 1e-6, false),
        "dropout changed nothing"
    );
    assert!(net.forward(&x).unwrap().equal(&y0));
    let bad = TrainOverrides {
        dropout: Some(1.0),
        ..Default::default()
    };
    let e = TrainConfig::resolve("mlp", "mnist1d", &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dropout"), "{e}");
}

/// Fresh networks draw PyTorch's default initialisation: every Linear/Conv weight and bias
/// uniform in ±1/√fan_in (not tch's Kaiming-ReLU default, √6 times wider), so a recipe from a
/// PyTorch notebook starts from the same distribution.
#[test]
fn initialisation_is_pytorchs_default() {
    let ds = synthetic_images(8, 8);
    let spec = build_preset("cnn-fashion", &ds.data_shape(), &PresetOptions::default()).unwrap();
    tch::manual_seed(5);
    let net = Net::new(&spec, Device::Cpu).unwrap();
    let w = net.weights().unwrap();
    for (name, fan_in) in [
        ("conv1.weight", 25usize),
        ("conv1.bias", 25),
        ("conv2.weight", 12 * 25),
        ("conv2.bias", 12 * 25),
        ("fc.weight", 1024),
        ("fc.bias", 1024),
    ] {
        let t = w.get(name).unwrap();
        let bound = 1.0 / (fan_in as f32).sqrt();
        let max = t.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            max <= bound,
            "{name}: |w| up to {max} > 1/√{fan_in} = {bound}"
        );
        if t.data.len() >= 1000 {
            // a uniform on ±b has std b/√3 and reaches close to b
            let n = t.data.len() as f32;
            let std = (t.data.iter().map(|v| v * v).sum::<f32>() / n).sqrt();
            let want = bound / 3f32.sqrt();
            assert!(
                (std / want - 1.0).abs() < 0.1,
                "{name}: std {std}, want {want}"
            );
            assert!(max > 0.95 * bound, "{name}: max {max} of bound {bound}");
        }
    }
}
