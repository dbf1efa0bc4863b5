# The optional native BLAS addon (docs/architecture.md §5), built by scripts/build-native.mjs: OpenBLAS on
# Linux (and other Unixes), Apple's Accelerate framework on macOS.
# Plain C against node_api.h with NAPI_VERSION 8: the ABI-stable layer, so the one .node file
# loads in Node 20 and in VS Code's Electron without a rebuild per runtime.
{
  "targets": [
    {
      "target_name": "distill_blas",
      "sources": ["distill_blas.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-std=c11", "-Wall"],
      "conditions": [
        # macOS: every Mac has Accelerate's cblas_sgemm; nothing to install.
        ["OS=='mac'", {
          "defines": ["DISTILL_ACCELERATE"],
          "libraries": ["-framework Accelerate"],
          "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=c11"] }
        }, {
          # Debian's libopenblas-dev: cblas.h sits on the multiarch include path gcc already
          # searches (/usr/include/x86_64-linux-gnu); a few distributions use /usr/include/openblas.
          "include_dirs": ["/usr/include/openblas"],
          "libraries": ["-lopenblas", "-lm"]
        }]
      ]
    }
  ]
}
