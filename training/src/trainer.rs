//! Training one run: data on the device once, shuffled mini-batches, Adam or SGD, per-epoch
//! metrics written as they come, weights + spec + `done` at the end.

use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use joulebench_data::{Dataset, DatasetKind};
use joulebench_models::{
    build_preset, Augment, Loss, LrSchedule, ModelSpec, OptimizerKind, RunDir,
};
use rand::seq::SliceRandom;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::batches::{eval_input, train_input_seeded, DeviceSplit};
use crate::config::TrainConfig;
use crate::device::device_name;
use crate::error::{Result, TrainError};
use crate::metrics::{finite, EpochHook, EpochMetrics, Metrics};
use crate::net::{Net, NetOutput};

/// How a run reports and what it is hooked to.
#[derive(Default)]
pub struct TrainOptions<'a> {
    /// No progress bar, no per-epoch lines on stderr.
    pub quiet: bool,
    /// Called around every epoch (energy meters).
    pub hook: Option<&'a mut dyn EpochHook>,
}

/// What a finished run gives back (everything is also in the run folder).
pub struct TrainOutcome {
    pub spec: ModelSpec,
    pub metrics: Metrics,
    pub net: Net,
}

/// Loads the dataset a config names (MNIST-1D is generated unless `data_dir` is set), cut to
/// `limit_train` / `limit_test`.
pub fn load_dataset(cfg: &TrainConfig) -> Result<Dataset> {
    let kind = DatasetKind::from_str(&cfg.dataset)?;
    let mut ds = Dataset::load(kind, cfg.data_dir.as_deref())?;
    if let Some(n) = cfg.validation {
        ds = ds.hold_out(n)?;
    }
    Ok(ds.truncate(
        cfg.limit_train.unwrap_or(usize::MAX),
        cfg.limit_test.unwrap_or(usize::MAX),
    ))
}

/// The `ModelSpec` a config trains on a dataset of shape `ds` (validated).
pub fn spec_for(cfg: &TrainConfig, ds: &Dataset) -> Result<ModelSpec> {
    Ok(build_preset(&cfg.preset, &ds.data_shape(), &cfg.options)?)
}

/// Mean loss and accuracy of `net` on a split (no gradient; test batches encoded as in
/// [`crate::batches`]).
pub fn evaluate(net: &Net, split: &DeviceSplit, batch: usize, seed: u64) -> Result<(f64, f64)> {
    let _guard = tch::no_grad_guard();
    let mut loss_sum = 0.0f64;
    let mut correct = 0i64;
    let n = split.len;
    let mut i = 0usize;
    let mut start = 0usize;
    while start < n {
        let len = batch.min(n - start);
        let xb = split.x.narrow(0, start as i64, len as i64);
        let yb = split.y.narrow(0, start as i64, len as i64);
        let input = eval_input(&net.spec, &xb, seed, i)?;
        let logits = net.forward(&input)?;
        let loss = logits.cross_entropy_for_logits(&yb);
        loss_sum += loss.double_value(&[]) * len as f64;
        correct += logits
            .argmax(-1, false)
            .eq_tensor(&yb)
            .sum(Kind::Int64)
            .int64_value(&[]);
        start += len;
        i += 1;
    }
    Ok((loss_sum / n.max(1) as f64, correct as f64 / n.max(1) as f64))
}

/// The optimizer of a run, with PyTorch's hyper-parameters (Adam/AdamW β = (0.9, 0.999),
/// ε = 1e-8; SGD momentum 0.9) and the weight decay `wd` as each defines it.
pub fn optimizer(
    kind: OptimizerKind,
    vs: &nn::VarStore,
    lr: f64,
    wd: f64,
) -> Result<nn::Optimizer> {
    Ok(match kind {
        OptimizerKind::Adam => nn::Adam {
            wd,
            ..Default::default()
        }
        .build(vs, lr)?,
        OptimizerKind::AdamW => nn::AdamW {
            wd,
            ..Default::default()
        }
        .build(vs, lr)?,
        OptimizerKind::Sgd => nn::Sgd {
            momentum: 0.9,
            wd,
            ..Default::default()
        }
        .build(vs, lr)?,
    })
}

/// Trains `cfg` on `ds` into `run`. Writes `spec.json` and `train.json` first (removing a stale
/// `done` marker), `metrics.json` after every epoch, then `weights.safetensors` and finally
/// `done` — all atomically.
pub fn train(
    cfg: &TrainConfig,
    ds: &Dataset,
    run: &RunDir,
    mut opts: TrainOptions<'_>,
) -> Result<TrainOutcome> {
    cfg.validate()?;
    let spec = spec_for(cfg, ds)?;
    if cfg.augment != Augment::None && spec.input_shape.len() != 3 {
        return Err(TrainError::Config(format!(
            "augmentation {} works on 2-D images; {} takes input {:?}",
            cfg.augment.name(),
            spec.preset,
            spec.input_shape
        )));
    }
    let device = cfg.device.resolve()?;
    if device == Device::Cpu {
        crate::heap::keep_freed_memory();
    }
    if let Some(t) = cfg.threads {
        tch::set_num_threads(t as i32);
    }
    if ds.train.is_empty() || ds.test.is_empty() {
        return Err(TrainError::Config(format!(
            "dataset {} has an empty train or test split",
            ds.name()
        )));
    }
    if run.is_done() {
        let p = run.done_path();
        std::fs::remove_file(&p).map_err(|e| TrainError::io(&p, e))?;
    }
    std::fs::create_dir_all(&run.path).map_err(|e| TrainError::io(&run.path, e))?;
    run.write_spec(&spec)?;
    cfg.save(run)?;

    tch::manual_seed(cfg.seed as i64);
    let net = Net::new(&spec, device)?;
    let train_set = DeviceSplit::new(&ds.train, &spec, device)?;
    let test_set = DeviceSplit::new(&ds.test, &spec, device)?;
    let mut opt = optimizer(cfg.optimizer, &net.vs, cfg.lr, cfg.weight_decay)?;

    let mut metrics = Metrics {
        preset: spec.preset.clone(),
        dataset: ds.name().to_string(),
        device: device_name(device),
        threads: tch::get_num_threads().max(1) as usize,
        train_samples: train_set.len,
        test_samples: test_set.len,
        eval_split: match cfg.validation {
            Some(n) => format!("validation (last {n} training samples)"),
            None => "test".into(),
        },
        parameters: spec.num_parameters(),
        epochs: Vec::new(),
    };
    metrics.save(run)?;

    let n = train_set.len;
    let bs = cfg.batch_size;
    let batches = n.div_ceil(bs);
    let total_steps = batches * cfg.epochs;
    for epoch in 1..=cfg.epochs {
        if let Some(h) = opts.hook.as_deref_mut() {
            h.epoch_begin();
        }
        let pb = progress_bar(opts.quiet, batches as u64, epoch, cfg.epochs, &spec.preset);
        let t0 = Instant::now();
        // shuffle once per epoch (ChaCha8, seed, stream = epoch); the data tensors are permuted once
        let mut perm: Vec<i64> = (0..n as i64).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(epoch as u64);
        perm.shuffle(&mut rng);
        let idx = Tensor::from_slice(&perm).to_device(device);
        let xs = train_set.x.index_select(0, &idx);
        let ys = train_set.y.index_select(0, &idx);
        let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
        let mut correct = Tensor::zeros([], (Kind::Int64, device));
        for b in 0..batches {
            let start = (b * bs) as i64;
            let len = bs.min(n - b * bs) as i64;
            let xb = xs.narrow(0, start, len);
            let yb = ys.narrow(0, start, len);
            // spike-encoding seed of this batch: (seed, epoch, batch)
            let enc_seed =
                cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((epoch as u64) << 32) ^ b as u64;
            if cfg.schedule != LrSchedule::Constant {
                opt.set_lr(
                    cfg.schedule
                        .lr_at(cfg.lr, (epoch - 1) * batches + b, total_steps),
                );
            }
            let xb = augment_batch(cfg.augment, &xb, enc_seed)?;
            let input = train_input_seeded(&spec, &xb, enc_seed)?;
            let out = net.forward_train(&input, cfg.dropout)?;
            let loss = training_loss(cfg.loss, cfg.label_smoothing, &out, &yb);
            let logits = out.logits;
            opt.backward_step(&loss);
            tch::no_grad(|| {
                loss_sum += loss.detach().to_kind(Kind::Double) * len as f64;
                correct += logits.argmax(-1, false).eq_tensor(&yb).sum(Kind::Int64);
            });
            pb.inc(1);
        }
        let train_loss = loss_sum.double_value(&[]) / n as f64;
        let train_acc = correct.int64_value(&[]) as f64 / n as f64;
        let train_s = t0.elapsed().as_secs_f64();
        pb.finish_and_clear();
        let t1 = Instant::now();
        let (test_loss, test_acc) = evaluate(&net, &test_set, bs, cfg.seed)?;
        let eval_s = t1.elapsed().as_secs_f64();
        let energy = opts.hook.as_deref_mut().and_then(|h| h.epoch_end());
        let m = EpochMetrics {
            epoch,
            train_loss: finite(train_loss),
            train_acc,
            test_loss: finite(test_loss),
            test_acc,
            train_s,
            eval_s,
            wall_s: train_s + eval_s,
            samples_per_s: n as f64 / train_s.max(1e-9),
            energy,
        };
        if !opts.quiet {
            eprintln!(
                "{} epoch {epoch}/{}: train loss {:.4} acc {:.2}% | {} loss {:.4} acc {:.2}% | {:.1} s ({:.0} samples/s){}",
                spec.preset,
                cfg.epochs,
                train_loss,
                100.0 * train_acc,
                if cfg.validation.is_some() { "val" } else { "test" },
                test_loss,
                100.0 * test_acc,
                train_s,
                m.samples_per_s,
                m.energy.as_ref().map(|e| format!(", {:.1} J ({})", e.joules, e.source)).unwrap_or_default()
            );
        }
        tracing::info!(
            epoch,
            train_loss,
            train_acc,
            test_loss,
            test_acc,
            train_s,
            "epoch finished"
        );
        metrics.epochs.push(m);
        metrics.save(run)?;
    }

    let mut w = net.weights()?;
    w.metadata.insert("preset".into(), spec.preset.clone());
    w.metadata.insert("dataset".into(), ds.name().to_string());
    w.metadata.insert("epochs".into(), cfg.epochs.to_string());
    w.metadata.insert("seed".into(), cfg.seed.to_string());
    if let Some(last) = metrics.last() {
        let key = if cfg.validation.is_some() {
            "validation_acc"
        } else {
            "test_acc"
        };
        w.metadata
            .insert(key.into(), format!("{:.6}", last.test_acc));
    }
    w.save(&run.weights_path())?;
    run.mark_done()?;
    Ok(TrainOutcome { spec, metrics, net })
}

/// The loss of one batch (labels `y`): cross-entropy of the logits, or its mean over the time
/// steps of `out.per_step` (`[T, B, C]` → `T·B` rows, each step's row against its sample's label).
/// With `smoothing` ε > 0 each cross-entropy is PyTorch's label-smoothed one,
/// `(1 − ε)·CE(label) + ε·mean over classes of −log p`.
pub fn training_loss(loss: Loss, smoothing: f64, out: &NetOutput, y: &Tensor) -> Tensor {
    let ce = |logits: &Tensor, y: &Tensor| {
        if smoothing > 0.0 {
            logits.cross_entropy_loss::<Tensor>(y, None, tch::Reduction::Mean, -100, smoothing)
        } else {
            logits.cross_entropy_for_logits(y)
        }
    };
    match loss {
        Loss::Readout => ce(&out.logits, y),
        Loss::PerStep => {
            let size = out.per_step.size();
            let (t, b) = (size[0], size[1]);
            ce(&out.per_step.reshape([t * b, -1]), &y.repeat([t]))
        }
    }
}

/// Applies the run's augmentation to a training batch `x` (`[B, C, H, W]` unless `none`), with
/// per-sample choices from a ChaCha8 stream seeded with `seed`: `flip` mirrors sample `i`
/// left–right when draw `i` says so; `shift:n` moves sample `i` by draw `i`'s offset
/// `(dy, dx) ∈ [−n, n]²` (output pixel `(r, c)` is input pixel `(r − dy, c − dx)`, clamped to
/// the image: edge pixels repeat).
pub fn augment_batch(aug: Augment, x: &Tensor, seed: u64) -> Result<Tensor> {
    let size = x.size();
    if aug != Augment::None && size.len() != 4 {
        return Err(TrainError::Config(format!(
            "augmentation {} needs image batches [B, C, H, W], got {size:?}",
            aug.name()
        )));
    }
    match aug {
        Augment::None => Ok(x.shallow_clone()),
        Augment::Flip => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xF11F_F11F_0000_0000);
            let flags: Vec<bool> = (0..size[0]).map(|_| rng.random::<bool>()).collect();
            let mask = Tensor::from_slice(&flags)
                .to_device(x.device())
                .reshape([size[0], 1, 1, 1]);
            Ok(tch::no_grad(|| x.flip([3]).where_self(&mask, x)))
        }
        Augment::Shift(n) => {
            let n = n as i64;
            let k = 2 * n + 1;
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5A1F_7000_0000_0000);
            // offset index o ↔ (dy, dx) = (o / k − n, o % k − n)
            let offsets: Vec<i64> = (0..size[0]).map(|_| rng.random_range(0..k * k)).collect();
            let offsets = Tensor::from_slice(&offsets)
                .to_device(x.device())
                .reshape([size[0], 1, 1, 1]);
            let (h, w) = (size[2], size[3]);
            Ok(tch::no_grad(|| {
                let padded = x.pad([n, n, n, n], "replicate", None);
                let mut out = x.zeros_like();
                for o in 0..k * k {
                    // dy = o / k − n: output row r reads padded row r + n − dy = r + (k − 1 − o / k)
                    let crop = padded
                        .narrow(2, k - 1 - o / k, h)
                        .narrow(3, k - 1 - o % k, w);
                    out = crop.where_self(&offsets.eq(o), &out);
                }
                out
            }))
        }
    }
}

fn progress_bar(quiet: bool, len: u64, epoch: usize, epochs: usize, name: &str) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let pb = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches {per_sec} eta {eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(format!("{name} epoch {epoch}/{epochs}"));
    pb
}

/// Loads a finished run's network (spec + weights) on `device`.
pub fn load_net(run: &RunDir, device: Device) -> Result<Net> {
    let spec = run.spec()?;
    let w = run.weights(&spec)?;
    Net::with_weights(&spec, &w, device)
}

/// True when `path` holds a finished run.
pub fn is_finished(path: &Path) -> bool {
    RunDir::new(path).is_done()
}
