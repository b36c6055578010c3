FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, from the package's metadata alone: this layer is rebuilt only
# when setup.cfg or pyproject.toml change, not on every edit of the code. (It installs
# an empty `stocksync` too; the code replaces it below.)
COPY pyproject.toml setup.cfg README.md ./
RUN pip install .

# The code (.dockerignore keeps out .venv, .git, var/ with its data and dev key, and
# anything named like a secret), installed without touching the dependencies.
COPY . .
RUN pip install --no-deps --force-reinstall .

# Run unprivileged: a process that is broken into gets no root in the container. Its
# own home holds STOCKSYNC_HOME (beat's schedule, which needs its folder to exist),
# which /app, owned by root, cannot.
RUN useradd --create-home --uid 10001 stocksync
USER stocksync
ENV STOCKSYNC_HOME=/home/stocksync/var
RUN mkdir -m 0700 "$STOCKSYNC_HOME"

# The web process; docker-compose.yml names each service's own command.
EXPOSE 5000
CMD ["gunicorn", "-c", "python:api.gunicorn_conf", "api.wsgi:app", "--bind", "0.0.0.0:5000", "--access-logfile", "-"]
