//! With the `training` feature, makes the `joulebench` binary (and the root tests/benches) find
//! libtorch without LD_LIBRARY_PATH: tch's rpath does not propagate to downstream binaries, so
//! when `JB_TORCH_LIB` (set by `scripts/jb-env`) is present, embed it as an rpath and link
//! `libtorch.so` with `--no-as-needed` (libtorch_cuda is then loaded and CUDA found on a GPU
//! machine).
fn main() {
    println!("cargo:rerun-if-env-changed=JB_TORCH_LIB");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_TRAINING").is_none() {
        return;
    }
    if let Ok(dir) = std::env::var("JB_TORCH_LIB") {
        if !dir.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-L{dir}");
            println!("cargo:rustc-link-arg=-ltorch");
        }
    }
}
