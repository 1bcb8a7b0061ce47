//! The native dense engine against networks small enough to compute by hand.

use joulebench_data::DatasetKind;
use joulebench_inference::Isa;
use joulebench_inference::{Backend, InferenceError, NativeBackend};
use joulebench_models::{
    build_preset, Encoding, Layer, LifParams, ModelSpec, Op, Preprocess, PresetOptions, Readout,
    Tensor, Weights,
};

fn spec(
    input: Vec<usize>,
    classes: usize,
    steps: usize,
    readout: Readout,
    layers: Vec<Layer>,
) -> ModelSpec {
    ModelSpec {
        preset: "hand".into(),
        input_shape: input,
        num_classes: classes,
        preprocess: Preprocess::default(),
        encoding: Encoding::Direct,
        steps,
        readout,
        layers,
    }
}

fn t(shape: Vec<usize>, data: Vec<f32>) -> Tensor {
    Tensor::new(shape, data).unwrap()
}

#[test]
fn linear_relu_linear_by_hand() {
    let s = spec(
        vec![2],
        2,
        1,
        Readout::Output,
        vec![
            Layer::new(
                "fc1",
                Op::Linear {
                    in_features: 2,
                    out_features: 3,
                },
            ),
            Layer::new("relu", Op::Relu),
            Layer::new(
                "fc2",
                Op::Linear {
                    in_features: 3,
                    out_features: 2,
                },
            ),
        ],
    );
    let mut w = Weights::default();
    w.insert(
        "fc1.weight",
        t(vec![3, 2], vec![1.0, 2.0, -1.0, 0.5, 0.0, 3.0]),
    );
    w.insert("fc1.bias", t(vec![3], vec![0.5, -1.0, 0.0]));
    w.insert(
        "fc2.weight",
        t(vec![2, 3], vec![1.0, 1.0, 1.0, 2.0, -1.0, 0.5]),
    );
    w.insert("fc2.bias", t(vec![2], vec![0.0, 1.0]));
    // x = [1, 2]: fc1 = [1+4+0.5, -1+1-1, 6] = [5.5, -1, 6] → relu [5.5, 0, 6]
    // fc2 = [5.5+0+6, 11-0+3+1] = [11.5, 15]
    // x = [-1, 0]: fc1 = [-0.5, 0, 0] → relu [0, 0, 0] → fc2 = [0, 1]
    let x = t(vec![2, 2], vec![1.0, 2.0, -1.0, 0.0]);
    for isa in Isa::supported() {
        for threads in [1, 2] {
            let mut b = NativeBackend::with_isa(&s, &w, threads, isa).unwrap();
            let y = b.run(&x).unwrap();
            assert_eq!(y.shape, vec![2, 2]);
            assert_eq!(
                y.data,
                vec![11.5, 15.0, 0.0, 1.0],
                "isa {isa:?} threads {threads}"
            );
        }
    }
}

/// One LIF layer (β 0.5, θ 1) fed currents directly; neuron 0 sits exactly at threshold twice.
fn lif_spec(readout: Readout) -> ModelSpec {
    let mut s = spec(
        vec![2],
        2,
        4,
        readout,
        vec![Layer::new("lif", Op::Lif(LifParams::new(0.5)))],
    );
    s.encoding = Encoding::Rate;
    s
}

#[test]
fn lif_sequence_by_hand_with_a_neuron_exactly_at_threshold() {
    // neuron 0: I = 1, 0.5, 1.5, 0
    //   t0: U = 0·0.5 + 1 − 0 = 1.0, S = 0 (1.0 is not > 1)
    //   t1: reset 0 (U−1 = 1.0 not > 1), U = 0.5 + 0.5 = 1.0, S = 0
    //   t2: U = 0.5 + 1.5 = 2.0, S = 1
    //   t3: reset 1 (U−1 = 2 > 1), U = 1.0 + 0 − 1 = 0.0, S = 0
    // neuron 1: I = 3, 0, 0, 0
    //   t0: U = 3, S = 1; t1: U = 1.5 − 1 = 0.5, S = 0; t2: U = 0.25; t3: U = 0.125
    let x = t(vec![4, 1, 2], vec![1.0, 3.0, 0.5, 0.0, 1.5, 0.0, 0.0, 0.0]);
    let cases = [
        (Readout::SpikeCount, vec![1.0, 1.0]),
        (Readout::MembraneLast, vec![0.0, 0.125]),
        (
            Readout::MembraneMean,
            vec![
                (1.0 + 1.0 + 2.0 + 0.0) / 4.0,
                (3.0 + 0.5 + 0.25 + 0.125) / 4.0,
            ],
        ),
        (Readout::Output, vec![0.25, 0.25]),
    ];
    for (readout, want) in cases {
        let s = lif_spec(readout);
        let mut b = NativeBackend::new(&s, &Weights::default(), 1).unwrap();
        let y = b.run(&x).unwrap();
        assert_eq!(y.data, want, "{readout:?}");
        // and again: state is reset between calls
        assert_eq!(b.run(&x).unwrap().data, want, "{readout:?} second call");
    }
}

#[test]
fn conv_pool_flatten_by_hand() {
    // 1×3×3 input, conv 1→2 k2 (3 → 2×2), maxpool 2 (→ 1×1), flatten, linear 2→2 identity.
    let s = spec(
        vec![1, 3, 3],
        2,
        1,
        Readout::Output,
        vec![
            Layer::new(
                "conv",
                Op::Conv2d {
                    in_channels: 1,
                    out_channels: 2,
                    kernel_size: 2,
                    stride: 1,
                    padding: 0,
                },
            ),
            Layer::new("pool", Op::MaxPool2d { kernel_size: 2 }),
            Layer::new("flatten", Op::Flatten),
            Layer::new(
                "fc",
                Op::Linear {
                    in_features: 2,
                    out_features: 2,
                },
            ),
        ],
    );
    let mut w = Weights::default();
    // channel 0 sums the window; channel 1 takes top-left minus bottom-right.
    w.insert(
        "conv.weight",
        t(
            vec![2, 1, 2, 2],
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, -1.0],
        ),
    );
    w.insert("conv.bias", t(vec![2], vec![0.0, 10.0]));
    w.insert("fc.weight", t(vec![2, 2], vec![1.0, 0.0, 0.0, 1.0]));
    w.insert("fc.bias", t(vec![2], vec![0.0, 0.0]));
    // x = 1 2 3 / 4 5 6 / 7 8 9
    // ch0 windows: 12 16 / 24 28 → max 28; ch1: 1-5, 2-6, 4-8, 5-9 = -4 each → +10 = 6
    let x = t(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
    let mut b = NativeBackend::new(&s, &w, 1).unwrap();
    assert_eq!(b.run(&x).unwrap().data, vec![28.0, 6.0]);
}

#[test]
fn rnn_by_hand() {
    // [C=1, L=2] sequence → 2 steps of 1 feature; hidden 1; w_ih 1, w_hh 1, biases 0.
    let s = spec(
        vec![1, 2],
        1,
        1,
        Readout::Output,
        vec![Layer::new(
            "rnn",
            Op::Rnn {
                input_size: 1,
                hidden_size: 1,
            },
        )],
    );
    let mut w = Weights::default();
    w.insert("rnn.weight_ih", t(vec![1, 1], vec![1.0]));
    w.insert("rnn.weight_hh", t(vec![1, 1], vec![0.5]));
    w.insert("rnn.bias_ih", t(vec![1], vec![0.1]));
    w.insert("rnn.bias_hh", t(vec![1], vec![-0.1]));
    let x = t(vec![1, 1, 2], vec![0.3, -0.2]);
    let h0 = (0.3f32).tanh();
    let h1 = (-0.2f32 + 0.5 * h0).tanh();
    let mut b = NativeBackend::new(&s, &w, 1).unwrap();
    let y = b.run(&x).unwrap();
    assert!((y.data[0] - h1).abs() < 1e-6, "{} vs {h1}", y.data[0]);
}

#[test]
fn threads_and_instruction_sets_agree_on_presets() {
    let mnist = DatasetKind::Mnist.data_shape();
    for preset in ["ann", "cnn", "rnn", "snn-temporal", "csnn-1step"] {
        let opts = PresetOptions {
            steps: if preset.ends_with("temporal") {
                Some(3)
            } else {
                None
            },
            ..Default::default()
        };
        let s = build_preset(preset, &mnist, &opts).unwrap();
        let w = Weights::random(&s, 7);
        let batch = 5;
        let shape = s.batch_input_shape(batch);
        let n: usize = shape.iter().product();
        let data = (0..n)
            .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 > 0.6) as u8 as f32)
            .collect();
        let x = Tensor::new(shape, data).unwrap();
        let y1 = NativeBackend::with_isa(&s, &w, 1, Isa::Scalar)
            .unwrap()
            .run(&x)
            .unwrap();
        let y2 = NativeBackend::new(&s, &w, 2).unwrap().run(&x).unwrap();
        assert_eq!(y1.shape, vec![batch, 10]);
        let d = y1.max_abs_diff(&y2).unwrap();
        assert!(d < 1e-4, "{preset}: threads/isa disagree by {d}");
        assert_eq!(y1.argmax_rows(), y2.argmax_rows(), "{preset}");
    }
}

#[test]
fn wrong_input_shape_and_non_finite_input_are_errors() {
    let s = lif_spec(Readout::SpikeCount);
    let mut b = NativeBackend::new(&s, &Weights::default(), 1).unwrap();
    let err = b.run(&t(vec![1, 2], vec![0.0, 0.0])).unwrap_err();
    assert!(matches!(err, InferenceError::InputShape { .. }), "{err}");
    let err = b.run(&t(vec![3, 1, 2], vec![0.0; 6])).unwrap_err();
    assert!(matches!(err, InferenceError::InputShape { .. }), "{err}");
    let err = b
        .run(&t(
            vec![4, 1, 2],
            vec![0.0, 0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0],
        ))
        .unwrap_err();
    assert!(err.to_string().contains("non-finite"), "{err}");
}

#[test]
fn missing_weights_are_an_error_not_a_panic() {
    let s = spec(
        vec![2],
        2,
        1,
        Readout::Output,
        vec![Layer::new(
            "fc",
            Op::Linear {
                in_features: 2,
                out_features: 2,
            },
        )],
    );
    let err = NativeBackend::new(&s, &Weights::default(), 1)
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("fc.weight"), "{err}");
}
