# Python 3.14 on x86_64 with the project's locked dev dependencies, for running the fast test suite
# under the Lambda runtime's Python version natively, and moto's server for the SAM tests
# (tests/sam/images.py builds it). The wheels come from the build context: the host downloads them.
FROM scratch
ADD rootfs.tar /
COPY uv /usr/local/bin/uv
RUN ["/usr/local/bin/uv", "venv", "--quiet", "--python", "/usr/bin/python3.14", "/opt/venv"]
COPY site-packages/ /opt/venv/lib/python3.14/site-packages/
ENV LANG=C.UTF-8 PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin
RUN ["/opt/venv/bin/python", "-m", "compileall", "-q", "-j", "0", "/opt/venv/lib/python3.14/site-packages"]
