{
  "targets": [
    {
      "target_name": "autotracing",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/object.cc",
        "src/map.cc",
        "src/link.cc",
        "src/ringbuf.cc",
        "src/elf.cc",
        "src/system.cc",
        "src/btf.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-fexceptions"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
