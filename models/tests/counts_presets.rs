//! Operation counts of every preset against values computed by hand (the arithmetic is in the
//! comments; nothing here calls the counting code to get an expected value).

mod common;
use common::{mnist, mnist1d};
use joulebench_models::{
    build_preset, DataShape, ModelSpec, OpCounts, OtherOps, PresetOptions, PRESETS,
};

fn spec(name: &str, data: &DataShape, opts: PresetOptions) -> ModelSpec {
    build_preset(name, data, &opts).unwrap()
}

/// Expected totals of one model.
struct Want {
    params: u64,
    macs: u64,
    relu: u64,
    tanh: u64,
    pool: u64,
    mem: u64,
}

fn check(name: &str, c: &OpCounts, w: Want) {
    assert_eq!(c.total_params, w.params, "{name}: params");
    assert_eq!(c.total_macs, w.macs, "{name}: MACs");
    assert_eq!(c.total_flops, 2 * w.macs, "{name}: FLOPs = 2 × MACs");
    let o = c.total_other;
    let want_other = OtherOps {
        relu: w.relu,
        tanh: w.tanh,
        pool_comparisons: w.pool,
        membrane_updates: w.mem,
        lif_ops: 4 * w.mem,
    };
    assert_eq!(o, want_other, "{name}: other ops");
    // Per-layer numbers add up to the totals and FLOPs are 2 × MACs in every layer.
    assert_eq!(
        c.layers.iter().map(|l| l.macs).sum::<u64>(),
        w.macs,
        "{name}"
    );
    for l in &c.layers {
        assert_eq!(l.flops, 2 * l.macs, "{name}/{}", l.name);
    }
}

fn layer_macs(c: &OpCounts, layer: &str) -> u64 {
    c.layer(layer)
        .unwrap_or_else(|| panic!("no layer {layer}"))
        .macs
}

#[test]
fn mlp_sweep_default_is_the_notebooks_network_with_the_right_formula() {
    let c = OpCounts::of(&spec("mlp-sweep", &mnist(), PresetOptions::default())).unwrap();
    // 784·1024 = 802,816; 1024·1024 = 1,048,576; 1024·10 = 10,240; sum 1,861,632.
    assert_eq!(layer_macs(&c, "fc1"), 802_816);
    assert_eq!(layer_macs(&c, "fc2"), 1_048_576);
    assert_eq!(layer_macs(&c, "fc3"), 10_240);
    // params: 802,816 + 1,024 + 1,048,576 + 1,024 + 10,240 + 10 = 1,863,690
    check(
        "mlp-sweep",
        &c,
        Want {
            params: 1_863_690,
            macs: 1_861_632,
            relu: 2_048,
            tanh: 0,
            pool: 0,
            mem: 0,
        },
    );
    assert!(c.convention.contains("FLOPs = 2 × MACs"));
    assert_eq!(c.convention, OpCounts::convention());
}

#[test]
fn mlp_sweep_options_change_the_counts() {
    // resize14: 196 inputs. 196·1024 = 200,704; + 1,048,576 + 10,240 = 1,259,520
    let o = PresetOptions {
        input: Some(joulebench_models::InputTransform::Resize14),
        ..Default::default()
    };
    let c = OpCounts::of(&spec("mlp-sweep", &mnist(), o)).unwrap();
    assert_eq!(c.total_macs, 1_259_520);
    // width 100, depth 3: 784·100 = 78,400; 100·100 = 10,000 twice; 100·10 = 1,000 → 99,400
    // params: 78,400+100 + 2·(10,000+100) + 1,000+10 = 99,710
    let o = PresetOptions {
        width: Some(100),
        depth: Some(3),
        ..Default::default()
    };
    let c = OpCounts::of(&spec("mlp-sweep", &mnist(), o)).unwrap();
    check(
        "mlp-sweep 100×3",
        &c,
        Want {
            params: 99_710,
            macs: 99_400,
            relu: 300,
            tanh: 0,
            pool: 0,
            mem: 0,
        },
    );
}

#[test]
fn dense_presets() {
    // mlp: 784·512 = 401,408; 512·10 = 5,120 → 406,528 MACs.
    // params 401,408 + 512 + 5,120 + 10 = 407,050; ReLU 512.
    let c = OpCounts::of(&spec("mlp", &mnist(), PresetOptions::default())).unwrap();
    check(
        "mlp",
        &c,
        Want {
            params: 407_050,
            macs: 406_528,
            relu: 512,
            tanh: 0,
            pool: 0,
            mem: 0,
        },
    );

    // ann: 784·256 = 200,704; 256·128 = 32,768; 128·10 = 1,280 → 234,752.
    // params 200,704+256 + 32,768+128 + 1,280+10 = 235,146; ReLU 256 + 128 = 384.
    let c = OpCounts::of(&spec("ann", &mnist(), PresetOptions::default())).unwrap();
    check(
        "ann",
        &c,
        Want {
            params: 235_146,
            macs: 234_752,
            relu: 384,
            tanh: 0,
            pool: 0,
            mem: 0,
        },
    );
    assert_eq!(layer_macs(&c, "fc2"), 32_768);

    // mlp1d on [1, 40]: 40·64 = 2,560; 64·10 = 640 → 3,200. params 2,560+64 + 640+10 = 3,274.
    let c = OpCounts::of(&spec("mlp1d", &mnist1d(), PresetOptions::default())).unwrap();
    check(
        "mlp1d",
        &c,
        Want {
            params: 3_274,
            macs: 3_200,
            relu: 64,
            tanh: 0,
            pool: 0,
            mem: 0,
        },
    );
}

#[test]
fn convolutional_presets() {
    // cnn on 28×28: conv1 1→32 k3 → 32×26×26 = 21,632 outputs × 9 = 194,688 MACs, params 32·9+32 = 320.
    // pool1 → 32×13×13 = 5,408 outputs × 3 comparisons = 16,224.
    // conv2 32→64 k3 → 64×11×11 = 7,744 outputs × 288 = 2,230,272 MACs, params 64·288+64 = 18,496.
    // pool2 → 64×5×5 = 1,600 × 3 = 4,800. fc 1,600·10 = 16,000 MACs, params 16,010.
    // totals: MACs 2,440,960; params 34,826; ReLU 21,632 + 7,744 = 29,376; comparisons 21,024.
    let c = OpCounts::of(&spec("cnn", &mnist(), PresetOptions::default())).unwrap();
    check(
        "cnn",
        &c,
        Want {
            params: 34_826,
            macs: 2_440_960,
            relu: 29_376,
            tanh: 0,
            pool: 21_024,
            mem: 0,
        },
    );
    assert_eq!(layer_macs(&c, "conv2"), 2_230_272);
    assert_eq!(c.layer("pool1").unwrap().other.pool_comparisons, 16_224);
    assert_eq!(c.layer("conv1").unwrap().output_shape, vec![32, 26, 26]);
    assert_eq!(c.layer("conv1").unwrap().kind, "conv2d");

    // cnn-fashion on 28×28: conv1 1→12 k5 → 12×24×24 = 6,912 × 25 = 172,800 MACs, params 312.
    // pool1 → 12×12×12 = 1,728 × 3 = 5,184; ReLU 1,728.
    // conv2 12→64 k5 → 64×8×8 = 4,096 × 300 = 1,228,800 MACs, params 64·300+64 = 19,264.
    // pool2 → 64×4×4 = 1,024 × 3 = 3,072; ReLU 1,024. fc 1,024·10 = 10,240, params 10,250.
    // totals: MACs 1,411,840; params 29,826; ReLU 2,752; comparisons 8,256.
    let c = OpCounts::of(&spec("cnn-fashion", &mnist(), PresetOptions::default())).unwrap();
    check(
        "cnn-fashion",
        &c,
        Want {
            params: 29_826,
            macs: 1_411_840,
            relu: 2_752,
            tanh: 0,
            pool: 8_256,
            mem: 0,
        },
    );

    // cnn1d on [1, 40]: conv1 1→8 k5 → 8×36 = 288 × 5 = 1,440 MACs, params 48; ReLU 288.
    // pool1 → 8×18 = 144 × 1 = 144. conv2 8→16 k3 → 16×16 = 256 × 24 = 6,144 MACs, params 400;
    // ReLU 256. pool2 → 16×8 = 128 × 1 = 128. fc 128·10 = 1,280, params 1,290.
    // totals: MACs 8,864; params 1,738; ReLU 544; comparisons 272.
    let c = OpCounts::of(&spec("cnn1d", &mnist1d(), PresetOptions::default())).unwrap();
    check(
        "cnn1d",
        &c,
        Want {
            params: 1_738,
            macs: 8_864,
            relu: 544,
            tanh: 0,
            pool: 272,
            mem: 0,
        },
    );
    assert_eq!(c.layer("conv2").unwrap().kind, "conv1d");
}

#[test]
fn recurrent_preset() {
    // rnn on 28×28: 28 steps of 28 features, hidden 128: 28·128·(28+128) = 559,104 MACs;
    // tanh 28·128 = 3,584; params 128·28 + 128·128 + 128 + 128 = 20,224.
    // fc 128·10 = 1,280 MACs, params 1,290. Totals: 560,384 MACs, 21,514 params.
    let c = OpCounts::of(&spec("rnn", &mnist(), PresetOptions::default())).unwrap();
    check(
        "rnn",
        &c,
        Want {
            params: 21_514,
            macs: 560_384,
            relu: 0,
            tanh: 3_584,
            pool: 0,
            mem: 0,
        },
    );
    assert_eq!(layer_macs(&c, "rnn"), 559_104);

    // rnn on [1, 40]: 40 steps of 1 feature: 40·128·129 = 660,480; + 1,280 = 661,760.
    // tanh 40·128 = 5,120; params 128 + 16,384 + 256 = 16,768, + 1,290 = 18,058.
    let c = OpCounts::of(&spec("rnn", &mnist1d(), PresetOptions::default())).unwrap();
    check(
        "rnn/mnist1d",
        &c,
        Want {
            params: 18_058,
            macs: 661_760,
            relu: 0,
            tanh: 5_120,
            pool: 0,
            mem: 0,
        },
    );
}

#[test]
fn spiking_presets_multiply_by_the_steps() {
    // snn: 784·512 + 512·10 = 406,528 MACs (T = 1), 512 LIF neurons, params 407,050.
    let c = OpCounts::of(&spec("snn", &mnist(), PresetOptions::default())).unwrap();
    check(
        "snn",
        &c,
        Want {
            params: 407_050,
            macs: 406_528,
            relu: 0,
            tanh: 0,
            pool: 0,
            mem: 512,
        },
    );

    // snn-1step: ann's 234,752 MACs and 235,146 params; neurons 256 + 128 + 10 = 394.
    let c = OpCounts::of(&spec("snn-1step", &mnist(), PresetOptions::default())).unwrap();
    check(
        "snn-1step",
        &c,
        Want {
            params: 235_146,
            macs: 234_752,
            relu: 0,
            tanh: 0,
            pool: 0,
            mem: 394,
        },
    );

    // snn-temporal, T = 100: 100 · 234,752 = 23,475,200 MACs; 100 · 394 = 39,400 updates.
    let c = OpCounts::of(&spec("snn-temporal", &mnist(), PresetOptions::default())).unwrap();
    assert_eq!(c.steps, 100);
    check(
        "snn-temporal",
        &c,
        Want {
            params: 235_146,
            macs: 23_475_200,
            relu: 0,
            tanh: 0,
            pool: 0,
            mem: 39_400,
        },
    );
    assert_eq!(layer_macs(&c, "fc1"), 20_070_400); // 100 · 200,704
    assert_eq!(c.layer("lif2").unwrap().other.membrane_updates, 12_800); // 100 · 128

    // snn-temporal, T = 4: 4 · 234,752 = 939,008; 4 · 394 = 1,576.
    let o = PresetOptions {
        steps: Some(4),
        ..Default::default()
    };
    let c = OpCounts::of(&spec("snn-temporal", &mnist(), o)).unwrap();
    check(
        "snn-temporal T4",
        &c,
        Want {
            params: 235_146,
            macs: 939_008,
            relu: 0,
            tanh: 0,
            pool: 0,
            mem: 1_576,
        },
    );

    // csnn-1step: cnn-fashion's 1,411,840 MACs, 29,826 params, 8,256 comparisons;
    // neurons 1,728 + 1,024 + 10 = 2,762.
    let c = OpCounts::of(&spec("csnn-1step", &mnist(), PresetOptions::default())).unwrap();
    check(
        "csnn-1step",
        &c,
        Want {
            params: 29_826,
            macs: 1_411_840,
            relu: 0,
            tanh: 0,
            pool: 8_256,
            mem: 2_762,
        },
    );

    // csnn-temporal, T = 10: 14,118,400 MACs; 82,560 comparisons; 27,620 updates.
    let c = OpCounts::of(&spec("csnn-temporal", &mnist(), PresetOptions::default())).unwrap();
    check(
        "csnn-temporal",
        &c,
        Want {
            params: 29_826,
            macs: 14_118_400,
            relu: 0,
            tanh: 0,
            pool: 82_560,
            mem: 27_620,
        },
    );
}

#[test]
fn every_preset_is_covered_and_serializes() {
    // The tests above name every preset; this guards against a new preset without hand counts.
    let covered = [
        "mlp",
        "cnn",
        "rnn",
        "snn",
        "ann",
        "snn-1step",
        "snn-temporal",
        "cnn-fashion",
        "csnn-1step",
        "csnn-temporal",
        "mlp-sweep",
        "mlp1d",
        "cnn1d",
    ];
    for p in PRESETS {
        assert!(
            covered.contains(&p.name),
            "preset {} has no hand-computed counts",
            p.name
        );
        let data = if p.needs_1d { mnist1d() } else { mnist() };
        let c = spec(p.name, &data, PresetOptions::default())
            .op_counts()
            .unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["total_macs"].as_u64(), Some(c.total_macs));
        assert_eq!(json["layers"].as_array().unwrap().len(), c.layers.len());
    }
}
