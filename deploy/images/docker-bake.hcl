# Builds every image of the platform, from the repository root:
#   docker buildx bake -f deploy/images/docker-bake.hcl --push \
#     --set '*.platform=linux/amd64,linux/arm64'
# REGISTRY, VERSION and REVISION come from the environment (REVISION=$(git rev-parse HEAD)).
variable "REGISTRY" {
  default = "registry.tangerangkota.go.id/eproc"
}
variable "VERSION" {
  default = "0.1.0"
}
variable "REVISION" {
  default = "unknown"
}

group "default" {
  targets = ["process"]
}

target "process" {
  name = svc
  matrix = {
    svc = ["gateway", "tender", "vendor", "contract", "audit", "notify"]
  }
  context = "."
  dockerfile = "deploy/images/Dockerfile"
  target = "runtime"
  args = {
    SERVICE = svc
    VERSION = VERSION
    REVISION = REVISION
  }
  tags = ["${REGISTRY}/${svc}:${VERSION}"]
}
