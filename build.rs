//! Compiles the OLA .proto files in `assets/ola/` into prost messages with
//! protox (a pure-Rust protobuf compiler), so the build needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["assets/ola/Rpc.proto", "assets/ola/Ola.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let fds = protox::compile(files, ["assets/ola"])?;
    prost_build::Config::new()
        // DMX frames and RPC bodies are passed around without copying.
        .bytes(["."])
        .compile_fds(fds)?;
    Ok(())
}
