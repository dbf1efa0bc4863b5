# The optional OpenBLAS addon (docs/architecture.md §5), built by scripts/build-native.mjs.
# Plain C against node_api.h with NAPI_VERSION 8: the ABI-stable layer, so the one .node file
# loads in Node 20 and in VS Code's Electron without a rebuild per runtime.
{
  "targets": [
    {
      "target_name": "distill_blas",
      "sources": ["distill_blas.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-std=c11", "-Wall"],
      # Debian's libopenblas-dev: cblas.h sits on the multiarch include path gcc already
      # searches (/usr/include/x86_64-linux-gnu); a few distributions use /usr/include/openblas.
      "include_dirs": ["/usr/include/openblas"],
      "libraries": ["-lopenblas"]
    }
  ]
}
