{
  "targets": [
    {
      "target_name": "pinger_native",
      "sources": ["receive.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
