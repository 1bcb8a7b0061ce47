//! Elman RNN with tanh, written out so that its parameters carry the `ModelSpec` names
//! (`{layer}.weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, PyTorch layouts).
//!
//! `h[t] = tanh(x[t]·W_ihᵀ + b_ih + h[t−1]·W_hhᵀ + b_hh)`, `h[−1] = 0`; the output is the last `h`.
//! A sample `[1, H, W]` is read as `H` steps of `W` features (one image row per step), `[C, L]`
//! as `L` steps of `C` features (see `joulebench_models::spec::rnn_sequence`).

use tch::nn::{self, Init};
use tch::Tensor;

/// Parameters of one Elman RNN layer.
#[derive(Debug)]
pub struct ElmanRnn {
    pub weight_ih: Tensor,
    pub weight_hh: Tensor,
    pub bias_ih: Tensor,
    pub bias_hh: Tensor,
}

impl ElmanRnn {
    /// Creates the four tensors under `p` with PyTorch's initialisation (uniform ±1/√hidden).
    pub fn new(p: nn::Path, input_size: i64, hidden_size: i64) -> Self {
        let b = 1.0 / (hidden_size as f64).sqrt();
        let init = Init::Uniform { lo: -b, up: b };
        ElmanRnn {
            weight_ih: p.var("weight_ih", &[hidden_size, input_size], init),
            weight_hh: p.var("weight_hh", &[hidden_size, hidden_size], init),
            bias_ih: p.var("bias_ih", &[hidden_size], init),
            bias_hh: p.var("bias_hh", &[hidden_size], init),
        }
    }

    /// `x` is `[B, sample…]` with the per-sample shape `sample` (`[1, H, W]` or `[C, L]`);
    /// returns the last hidden state `[B, hidden]`.
    pub fn forward(&self, x: &Tensor, sample: &[usize]) -> Tensor {
        let b = x.size()[0];
        // [B, steps, features]
        let seq = match sample {
            [1, h, w] => x.reshape([b, *h as i64, *w as i64]),
            [c, l] => x.reshape([b, *c as i64, *l as i64]).transpose(1, 2),
            other => {
                panic!("ElmanRnn: unsupported sample shape {other:?} (the spec validates this)")
            }
        };
        let steps = seq.size()[1];
        // input projection for all steps at once: [B, steps, hidden]
        let xi = seq.matmul(&self.weight_ih.tr()) + &self.bias_ih;
        let w_hh_t = self.weight_hh.tr();
        let mut h: Option<Tensor> = None;
        for t in 0..steps {
            let pre = xi.select(1, t);
            let pre = match &h {
                Some(h) => pre + h.matmul(&w_hh_t) + &self.bias_hh,
                None => pre + &self.bias_hh,
            };
            h = Some(pre.tanh());
        }
        h.expect("at least one step")
    }
}
