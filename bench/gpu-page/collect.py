#!/usr/bin/env python3
"""Serves the built GPU bench page and writes what it POSTs to /result, then exits.

For machines with a browser and Python but no Node (an accelerator box, say), where
`npx tsx bench/gpu.ts --browser` cannot drive the browser:

    npx vite build bench/gpu-page --outDir /tmp/page      # where Node is
    python3 bench/gpu-page/collect.py /tmp/page result.json 8080 600 &
    chromium --headless=new 'http://127.0.0.1:8080/?post=1'

The page (bench/gpu-page/main.ts, with `post` in its query) POSTs its result as JSON. Exits 0
once a result is written, 1 when `timeout` seconds pass without one.
"""
import http.server
import sys
import threading


def main() -> int:
    root, out, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    done = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
            with open(out, 'wb') as f:
                f.write(body)
            self.send_response(204)
            self.end_headers()
            done.set()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ok = done.wait(timeout)
    server.shutdown()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
