#!/usr/bin/env python3
"""Serves a Tryton database with trytond's own WSGI app, one request at a time.

`trytond` always serves with werkzeug's threaded server. With SQLite, Tryton reads
a sequence's next number before its write transaction starts, so two requests at
once can get the same number: parallel tests saw "The code on party must be
unique." A production Tryton runs on PostgreSQL; this test server instead
answers one request at a time (each one is a whole transaction), which makes it
deterministic under parallel test processes.

usage: serve.py CONFIG_FILE DATABASE HOST PORT PIDFILE
"""
import os
import sys

config_file, database, host, port, pidfile = sys.argv[1:]
os.environ['TRYTOND_CONFIG'] = config_file
# Loads the database's pool at start: 8.2.1 never loads it lazily, and every
# login would fail with KeyError 'res.user'.
os.environ['TRYTOND_DATABASE_NAMES'] = database
os.environ.setdefault('TRYTOND_LOGGING_LEVEL', '20')

from trytond.application import app  # noqa: E402
from werkzeug.serving import run_simple  # noqa: E402

with open(pidfile, 'w') as f:
    f.write(str(os.getpid()))
run_simple(host, int(port), app, threaded=False)
