//! What the AVX2 and AVX-512 kernel files ([`super::avx2`], [`super::avx512`]) share: the
//! macro that writes their twin kernels once for both vector widths, the dispatch over
//! constant block sizes, and the scalar tail of a spike scan.

/// `dispatch_blocks!(f, nb, 1 2 …; (args…))` calls `f::<nb>(args…)` for the block count `nb`,
/// one of the literals listed.
macro_rules! dispatch_blocks {
    ($f:ident, $nb:expr, $($n:literal)+; $args:tt) => {
        match $nb { $($n => $f::<$n> $args,)+ _ => unreachable!("block size") }
    };
}
pub(super) use dispatch_blocks;

/// Generates one instruction set's twin kernels in the module that invokes it, under its
/// `#[target_feature]`: `accum_rows` (with `block`, `block_scaled`), `lif` and `scan` — see
/// [`super::accum_rows`], [`super::lif_step`], [`super::scan_nonzero`]. `lanes`: f32 lanes per
/// vector; column blocks of at most `max_block` vectors (`blocks`: the literals
/// `1..=max_block`). The vector operations (`load`/`store` aligned, `loadu`/`storeu` not;
/// `add`, `sub`, `mul` separate: no fused multiply-add) are the ISA's intrinsics. `cmp::<P>(a, b)` compares to a lane
/// mask, `ones_where(mask, one)` is 1.0 in its set lanes and +0.0 elsewhere, `mask_bits`
/// turns a mask into an integer (lane `j` → bit `j`), `blend(mask, a, b)` takes `b` in the
/// set lanes and `a` elsewhere, and `compact(ip, vp, count, xp, o,
/// nz, xv)` writes the lanes of bits `nz` of the vector `xv` loaded from `xp + o` —
/// positions `o + j` to `ip`, values to `vp`, in lane order from `count` — returning how
/// many. The invoking module imports `std::arch::x86_64::*` and `dispatch_blocks!`.
macro_rules! twin_kernels {
    (
        $(#[$attr:meta])*
        lanes: $w:literal,
        max_block: $maxb:literal,
        blocks: [$($nb:literal)+],
        zero: $zero:path,
        splat: $splat:path,
        load: $load:path,
        store: $store:path,
        loadu: $loadu:path,
        storeu: $storeu:path,
        add: $add:path,
        sub: $sub:path,
        mul: $mul:path,
        cmp: $cmp:ident,
        ones_where: $ones_where:path,
        mask_bits: $mask_bits:path,
        blend: $blend:path,
        compact: $compact:path $(,)?
    ) => {
        /// [`super::accum_rows`] and [`super::accum_rows_scaled`]: column blocks of up to
        /// `max_block` vectors, each summed over the whole list.
        $(#[$attr])*
        pub(crate) unsafe fn accum_rows(
            out: *mut f32,
            bias: *const f32,
            w: *const f32,
            stride: usize,
            idx: &[u32],
            vals: Option<&[f32]>,
        ) {
            let nvec = stride / $w;
            let mut v0 = 0;
            while v0 < nvec {
                let nb = (nvec - v0).min($maxb);
                let off = v0 * $w;
                match vals {
                    None => dispatch_blocks!(block, nb, $($nb)+;
                        (out.add(off), bias.add(off), w.add(off), stride, idx)),
                    Some(vals) => dispatch_blocks!(block_scaled, nb, $($nb)+;
                        (out.add(off), bias.add(off), w.add(off), stride, idx, vals)),
                }
                v0 += nb;
            }
        }

        $(#[$attr])*
        #[inline]
        unsafe fn block<const NB: usize>(
            out: *mut f32,
            bias: *const f32,
            w: *const f32,
            stride: usize,
            idx: &[u32],
        ) {
            let mut acc = [$zero(); NB];
            for &i in idx {
                let row = w.add(i as usize * stride);
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = $add(*a, $load(row.add(k * $w)));
                }
            }
            for (k, a) in acc.iter().enumerate() {
                $store(out.add(k * $w), $add(*a, $load(bias.add(k * $w))));
            }
        }

        $(#[$attr])*
        #[inline]
        unsafe fn block_scaled<const NB: usize>(
            out: *mut f32,
            bias: *const f32,
            w: *const f32,
            stride: usize,
            idx: &[u32],
            vals: &[f32],
        ) {
            let mut acc = [$zero(); NB];
            for (&i, &v) in idx.iter().zip(vals) {
                let row = w.add(i as usize * stride);
                let vv = $splat(v);
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = $add(*a, $mul(vv, $load(row.add(k * $w))));
                }
            }
            for (k, a) in acc.iter().enumerate() {
                $store(out.add(k * $w), $add(*a, $load(bias.add(k * $w))));
            }
        }

        /// [`super::lif_step`].
        $(#[$attr])*
        pub(crate) unsafe fn lif(
            u: &mut [f32],
            s: &mut [f32],
            cur: &[f32],
            beta: f32,
            theta: f32,
            n: usize,
            spikes: &mut [u32],
        ) -> usize {
            let bv = $splat(beta);
            let tv = $splat(theta);
            let one = $splat(1.0);
            let mut count = 0;
            let (up, sp, cp) = (u.as_mut_ptr(), s.as_mut_ptr(), cur.as_ptr());
            let out = spikes.as_mut_ptr();
            for v in 0..u.len() / $w {
                let o = v * $w;
                let un = $sub(
                    $add($mul(bv, $loadu(up.add(o))), $loadu(cp.add(o))),
                    $mul($loadu(sp.add(o)), tv),
                );
                $storeu(up.add(o), un);
                let m = $cmp::<_CMP_GT_OQ>(un, tv);
                $storeu(sp.add(o), $ones_where(m, one));
                let mut bits = $mask_bits(m) as u32;
                if o + $w > n {
                    bits &= if n > o { (1u32 << (n - o)) - 1 } else { 0 };
                }
                while bits != 0 {
                    *out.add(count) = (o as u32) + bits.trailing_zeros();
                    count += 1;
                    bits &= bits - 1;
                }
            }
            count
        }

        /// [`super::lif_step_neurons`]: whole vectors over the first `n.len()` neurons, the
        /// tail with [`joulebench_models::LifNeurons::update`] (the same operations).
        $(#[$attr])*
        pub(crate) unsafe fn lif_neurons(
            u: &mut [f32],
            s: &mut [f32],
            cur: &[f32],
            n: &joulebench_models::LifNeurons,
            spikes: &mut [u32],
        ) -> usize {
            use joulebench_models::Reset;
            let len = n.len();
            let one = $splat(1.0);
            let zero = $zero();
            let mut count = 0;
            let (up, sp, cp) = (u.as_mut_ptr(), s.as_mut_ptr(), cur.as_ptr());
            let (bp, tp, vp) = (n.beta.as_ptr(), n.threshold.as_ptr(), n.v_reset.as_ptr());
            let out = spikes.as_mut_ptr();
            let full = len / $w * $w;
            let mut o = 0;
            while o < full {
                let bv = $loadu(bp.add(o));
                let tv = $loadu(tp.add(o));
                let uv = $loadu(up.add(o));
                let sv = $loadu(sp.add(o));
                let cv = $loadu(cp.add(o));
                let un = match n.reset {
                    Reset::Subtract => $sub($add($mul(bv, uv), cv), $mul(sv, tv)),
                    Reset::To { .. } => {
                        let fired = $cmp::<_CMP_GT_OQ>(sv, zero);
                        $add($mul(bv, $blend(fired, uv, $loadu(vp.add(o)))), cv)
                    }
                    Reset::None => $add($mul(bv, uv), cv),
                };
                $storeu(up.add(o), un);
                let m = $cmp::<_CMP_GT_OQ>(un, tv);
                $storeu(sp.add(o), $ones_where(m, one));
                let mut bits = $mask_bits(m) as u32;
                while bits != 0 {
                    *out.add(count) = (o as u32) + bits.trailing_zeros();
                    count += 1;
                    bits &= bits - 1;
                }
                o += $w;
            }
            for j in full..len {
                let un = n.update(j, u[j], s[j], cur[j]);
                u[j] = un;
                let fire = un > n.threshold[j];
                s[j] = if fire { 1.0 } else { 0.0 };
                if fire {
                    spikes[count] = j as u32;
                    count += 1;
                }
            }
            count
        }

        /// [`super::scan_nonzero`]: returns (count, any non-zero value other than
        /// 1.0). NaN counts as non-zero.
        $(#[$attr])*
        pub(crate) unsafe fn scan(
            x: &[f32],
            idx: &mut [u32],
            vals: &mut [f32],
        ) -> (usize, bool) {
            let zero = $zero();
            let one = $splat(1.0);
            let mut count = 0;
            let mut nonbinary = false;
            let xp = x.as_ptr();
            let full = x.len() / $w * $w;
            let (ip, vp) = (idx.as_mut_ptr(), vals.as_mut_ptr());
            let mut o = 0;
            while o < full {
                let xv = $loadu(xp.add(o));
                let nz = $mask_bits($cmp::<_CMP_NEQ_UQ>(xv, zero));
                if nz != 0 {
                    let ones = $mask_bits($cmp::<_CMP_EQ_OQ>(xv, one));
                    nonbinary |= (nz & !ones) != 0;
                    count += $compact(ip, vp, count, xp, o, nz, xv);
                }
                o += $w;
            }
            for (j, &v) in x.iter().enumerate().skip(full) {
                if v != 0.0 || v.is_nan() {
                    *ip.add(count) = j as u32;
                    *vp.add(count) = v;
                    count += 1;
                    nonbinary |= v != 1.0;
                }
            }
            (count, nonbinary)
        }
    };
}
pub(super) use twin_kernels;

/// The last `x.len() − full` (< 16) values of a spike scan, one by one: list entries from
/// `count` on (when `ip` is given), the mask word at `full / 16`. Returns the new count, or
/// `None` for a value other than 0 and 1.
pub(super) unsafe fn scan_tail(
    x: &[f32],
    full: usize,
    ip: Option<*mut u32>,
    mp: *mut u16,
    mut count: usize,
) -> Option<usize> {
    if full < x.len() {
        let mut m = 0u16;
        for (j, &v) in x.iter().enumerate().skip(full) {
            if v == 1.0 {
                if let Some(ip) = ip {
                    *ip.add(count) = j as u32;
                }
                m |= 1 << (j - full);
                count += 1;
            } else if v != 0.0 {
                return None;
            }
        }
        *mp.add(full / 16) = m;
    }
    Some(count)
}
