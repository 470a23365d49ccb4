//! The musl build (`make build`) links Debian's glibc-compiled libseccomp.a, whose one glibc-only
//! symbol, `__fprintf_chk`, src/seccomp/fortify_shim.c supplies. Every other build does nothing.

fn main() {
    println!("cargo:rerun-if-changed=src/seccomp/fortify_shim.c");
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("musl") {
        return;
    }
    // Objects, not an archive: the linker takes an object whole wherever it stands on the
    // command line, so the symbol is there for libseccomp.a whatever order rustc gives the libraries.
    let objects = cc::Build::new()
        .file("src/seccomp/fortify_shim.c")
        .warnings(true)
        .compile_intermediates();
    for o in objects {
        println!("cargo:rustc-link-arg-bins={}", o.display());
    }
}
