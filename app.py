"""The CDK app: ``npx cdk synth`` (``make synth``) runs this to write the template to cdk.out/."""

from aws_cdk import App
from infra.stack import build_app

app = App()
build_app(app)
app.synth()
