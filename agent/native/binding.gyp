{
  "targets": [
    {
      "target_name": "pinger_native",
      "sources": ["receive.c", "route.c", "tx-timestamps.c", "watch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
