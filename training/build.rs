//! Makes the crate's own binaries (tests) find libtorch without LD_LIBRARY_PATH.
//!
//! tch's rpath does not propagate to downstream binaries. When `JB_TORCH_LIB` (set by
//! `scripts/jb-env` to the venv's `torch/lib`) is present, embed it as an rpath and force a
//! `libtorch.so` dependency (`--no-as-needed`) so that libtorch_cuda is loaded and CUDA is found
//! on a GPU machine.
fn main() {
    println!("cargo:rerun-if-env-changed=JB_TORCH_LIB");
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(dir) = std::env::var("JB_TORCH_LIB") {
        if !dir.is_empty() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-L{dir}");
            println!("cargo:rustc-link-arg=-ltorch");
        }
    }
}
