# Sigwise image: one image for every role. The default command serves the web app
# with gunicorn; docker-compose.yml runs the same image as `migrate` (one-shot) and
# `scheduler` (python manage.py runscheduler).
#
# The image needs DATABASE_URL and DJANGO_SECRET_KEY at run time; with
# DJANGO_DEBUG=false (the default here) it refuses to start without a real secret.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_DEBUG=false \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app

# The app runs as an unprivileged user; the code stays owned by root, so the process
# cannot change it.
RUN groupadd --system sigwise \
    && useradd --system --gid sigwise --home-dir /app --no-create-home --shell /usr/sbin/nologin sigwise

# Dependencies first: this layer is reused until requirements.txt changes. The lock pins
# every package (pip too) with its hashes, and this is the install `make run` does. The
# base image's setuptools and wheel go: nothing in the lock needs them, so the image holds
# exactly the lock's packages.
COPY requirements.txt ./
RUN pip install --require-hashes -r requirements.txt \
    && pip uninstall --yes setuptools wheel

COPY . .

# collectstatic imports the settings, which need a secret (debug is off) and a
# DATABASE_URL (without one they would start an embedded PostgreSQL). Both live on this
# one command only; nothing connects to the database. The key is random because the
# settings refuse one that reads like a placeholder, and it is in no layer. The app's
# bytecode is compiled here too: the user cannot write it, and every start would compile
# the sources again.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DATABASE_URL=postgres://build@127.0.0.1:1/build \
    python manage.py collectstatic --noinput \
    && python -m compileall -q .

USER sigwise

EXPOSE 8000

# curl is not in the slim image; python's urllib is. The request carries a Host the
# app accepts (the first of DJANGO_ALLOWED_HOSTS), or Django would answer 400.
# /healthz is 200 when the database answers and 503 when not; urlopen raises on 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; hosts = [h.strip().lstrip('.') for h in os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',') if h.strip() not in ('', '*')]; u.urlopen(u.Request('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', headers={'Host': (hosts or ['localhost'])[0]}), timeout=4)"]

# gunicorn.conf.py binds $HOST:$PORT (0.0.0.0:8000 here) and runs gthread workers (sized by
# WEB_CONCURRENCY and GUNICORN_THREADS), so clients that send their headers slowly hold a
# thread, not the app; the same file serves `make run`. tests/security/test_slow_clients.py
# runs this very command.
CMD ["gunicorn", "sigwise.wsgi", "--config", "gunicorn.conf.py"]
