{
  "variables": {
    "ibmvmc_portable_glibc%": "false"
  },
  "targets": [
    {
      "target_name": "ibmvmc",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/errors.cc",
        "native/addon/device_handle.cc",
        "native/addon/peer_credentials.cc"
      ],
      "include_dirs": ["native/abi"],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden"],
      "ldflags": ["-Wl,--as-needed"]
    },
    {
      "target_name": "ibmvmc_fake_preload",
      "type": "shared_library",
      "product_prefix": "",
      "product_extension": "so",
      "sources": ["native/fake/shim.c"],
      "include_dirs": ["native/abi", "native/fake"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fPIC", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-lpthread"],
      "conditions": [
        [
          "ibmvmc_portable_glibc=='true'",
          {
            "defines": ["IBMVMC_PORTABLE_GLIBC"],
            "libraries": [
              "-Wl,--no-as-needed",
              "-l:libdl.so.2",
              "-l:libpthread.so.0",
              "-Wl,--as-needed"
            ]
          }
        ]
      ]
    }
  ]
}
