# Lambda's python3.14 runtime on arm64, built from a Debian root file system (tests/sam/images.py):
# no registry image is pulled. `sam local invoke --invoke-image` runs functions in it.
FROM scratch
ADD rootfs.tar /
COPY runtime/ /var/runtime/
COPY bootstrap /var/runtime/bootstrap
# Lambda's own variables for every function (the emulator adds the per-function AWS_LAMBDA_* ones).
ENV LANG=C.UTF-8 \
    TZ=:UTC \
    LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime \
    PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin \
    LD_LIBRARY_PATH=/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib
# The runtime's own modules compiled once here (Lambda ships them compiled), not on every cold start.
RUN ["/usr/bin/python3.14", "-m", "compileall", "-q", "/var/runtime"]
WORKDIR /var/task
