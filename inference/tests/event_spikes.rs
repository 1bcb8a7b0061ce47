//! Bit-packed spike input ([`SpikeBatch`], `EventEngine::run_spikes`) gives exactly what the
//! `f32` tensor path gives, for every instruction set, thread count and execution mode.

use joulebench_data::{rate_encode, synthetic_digits, uniform_spikes};
use joulebench_inference::event::{EventEngine, ExecMode, SpikeBatch};
use joulebench_inference::Backend;
use joulebench_inference::Isa;
use joulebench_models::{ModelSpec, Tensor, Weights};

mod common;

fn preset(name: &str, shape: &[usize], steps: usize) -> ModelSpec {
    common::preset_with_shape(name, shape, steps)
}

fn weights(spec: &ModelSpec, seed: u64, gain: f32) -> Weights {
    common::weights_with_gain(spec, seed, gain)
}

#[test]
fn spike_batch_packs_and_unpacks() {
    let x = uniform_spikes(&[1, 10, 13], 3, 2, 0.3, 4);
    let s = SpikeBatch::from_tensor(&x).unwrap();
    assert_eq!((s.steps(), s.batch(), s.neurons()), (3, 2, 130));
    assert_eq!(s.words_per_row(), 3);
    assert_eq!(s.to_tensor(), x);
    let ones = x.data.iter().filter(|&&v| v == 1.0).count() as u64;
    assert_eq!(s.count_ones(), ones);
    for (k, &v) in x.data.iter().enumerate() {
        let (t, b, i) = (k / 260, (k / 130) % 2, k % 130);
        assert_eq!(s.get(t, b, i), v == 1.0, "bit ({t}, {b}, {i})");
    }
    // Padding bits of the last word stay clear.
    assert!((0..3).all(|t| (0..2).all(|b| s.row(t, b)[2] >> 2 == 0)));

    let mut z = SpikeBatch::zeros(2, 1, &[70]);
    z.set(1, 0, 69, true);
    z.set(1, 0, 3, true);
    z.set(1, 0, 3, false);
    assert_eq!(z.count_ones(), 1);
    assert!(z.get(1, 0, 69) && !z.get(0, 0, 69));
    assert_eq!(z.row(1, 0), &[0, 1 << 5]);
}

#[test]
fn non_binary_values_are_rejected_with_their_position() {
    let mut x = uniform_spikes(&[20], 4, 3, 0.5, 1);
    x.data[2 * 60 + 20 + 7] = 0.5;
    let err = SpikeBatch::from_tensor(&x).unwrap_err().to_string();
    assert!(
        err.contains("step 2") && err.contains("sample 1") && err.contains("element 7"),
        "{err}"
    );
    let flat = Tensor::new(vec![4, 20], vec![0.0; 80]).unwrap();
    assert!(SpikeBatch::from_tensor(&flat).is_err());

    let spec = preset("snn-temporal", &[1, 28, 28], 5);
    let mut e = EventEngine::new(&spec, &Weights::random(&spec, 0), 1).unwrap();
    let wrong = SpikeBatch::zeros(5, 1, &[784]);
    let err = e.run_spikes(&wrong).unwrap_err().to_string();
    assert!(err.contains("[5, 1, 784]"), "{err}");
}

#[test]
fn packed_spikes_run_exactly_like_the_float_tensor() {
    let spec = preset("snn-temporal", &[1, 28, 28], 30);
    let w = weights(&spec, 3, 3.0);
    let input = rate_encode(&synthetic_digits(5, 2), 30, 9);
    let packed = SpikeBatch::from_tensor(&input).unwrap();
    let mut reference = EventEngine::new(&spec, &w, 1).unwrap();
    reference.set_isa(Isa::Scalar).unwrap();
    reference.set_temporal_blocking(false);
    reference.set_record_raster(true);
    let want = reference.run(&input).unwrap();
    let want_act = reference.activity().unwrap().clone();
    assert!(want_act.total_spikes() > 0, "the hidden layers fire");
    for isa in Isa::supported() {
        for threads in [1, 2] {
            for temporal in [true, false] {
                let mut e = EventEngine::new(&spec, &w, threads).unwrap();
                e.set_isa(isa).unwrap();
                e.set_temporal_blocking(temporal);
                // Bit-for-bit against step-by-step summation (the baseline sums otherwise).
                e.set_baseline(false);
                e.set_record_raster(true);
                let what = format!("{} threads={threads} temporal={temporal}", isa.name());
                let got = e.run_spikes(&packed).unwrap();
                assert_eq!(got.data, want.data, "logits, packed, {what}");
                assert_eq!(e.activity().unwrap(), &want_act, "activity, packed, {what}");
                let got = e.run(&input).unwrap();
                assert_eq!(got.data, want.data, "logits, f32, {what}");
                assert_eq!(e.activity().unwrap(), &want_act, "activity, f32, {what}");
            }
        }
    }
    // With the baseline, packed and float input still give the same lists, so the same bits.
    for isa in Isa::supported() {
        let mut e = EventEngine::new(&spec, &w, 2).unwrap();
        e.set_isa(isa).unwrap();
        let a = e.run_spikes(&packed).unwrap();
        let act = e.activity().unwrap().clone();
        let b = e.run(&input).unwrap();
        assert_eq!(a.data, b.data, "{}", isa.name());
        assert_eq!(e.activity().unwrap(), &act, "{}", isa.name());
    }
    // Dense mode reads the packed input too.
    let mut d = EventEngine::with_mode(&spec, &w, 2, ExecMode::Dense).unwrap();
    let a = d.run(&input).unwrap();
    let b = d.run_spikes(&packed).unwrap();
    assert_eq!(a.data, b.data);
}

#[test]
fn packed_spikes_feed_convolutional_presets() {
    let spec = preset("csnn-temporal", &[1, 28, 28], 6);
    let w = weights(&spec, 5, 2.0);
    let input = rate_encode(&synthetic_digits(3, 4), 6, 1);
    let mut e = EventEngine::new(&spec, &w, 2).unwrap();
    let a = e.run(&input).unwrap();
    let act = e.activity().unwrap().clone();
    let b = e
        .run_spikes(&SpikeBatch::from_tensor(&input).unwrap())
        .unwrap();
    assert_eq!(a.data, b.data);
    assert_eq!(e.activity().unwrap(), &act);
}
