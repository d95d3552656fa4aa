# udocker-swift: build, test and install. `make demo` and `make test` are all a fresh Debian 12 machine needs.
SWIFT    ?= swift
PREFIX   ?= /usr/local
CONFIG   ?= release
BUILDDIR  = .build/$(CONFIG)

# Every Debian package the build, the tests and the demo use.
DEB_BUILD = pkg-config libcurl4-openssl-dev libarchive-dev libhwloc-dev libnuma-dev libssl-dev libsquashfs-dev libsquashfuse-dev libfuse3-dev
DEB_TOOLS = proot fakechroot patchelf runc crun uidmap busybox-static hwloc numactl fuse3
DEB_TEST  = squashfs-tools docker-registry skopeo umoci apache2-utils mmdebstrap openssl python3 python3-pip ca-certificates curl gcc libc6-dev \
            util-linux procps
# The launcher's test world: a two-node SLURM with munge, Open MPI (and MPICH for PMI2) to compile and run the MPI
# examples; the tests call mpicc.openmpi by name, so installing both MPIs makes nothing ambiguous.
DEB_HPC   = slurm-wlm munge openmpi-bin libopenmpi-dev mpich libmpich-dev gcc libc6-dev
DEBS      = $(DEB_BUILD) $(DEB_TOOLS) $(DEB_TEST) $(DEB_HPC)

VERSION   = $(shell sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/UdockerCLI/UdockerCommand.swift)

.PHONY: all build deps test install bundle demo clean

all: build

# The Swift runtime is linked in, so an installed udocker needs no Swift toolchain on the cluster's nodes:
# only the C libraries (libcurl4 libarchive13 libhwloc15 libnuma1 libssl3 libsquashfs1 libsquashfuse0 libfuse3-3), each opened
# when a command needs it.
# Only the two products: TestSupport imports Testing, which a --static-swift-stdlib build cannot.
# Linked at a fixed address (not PIE): a position-independent udocker spends ~0.7 ms of every start relocating its
# own 80 MB image (78,000 relocations; docs/performance.md). udocker runs an image's programs with the user's own
# rights, so randomising its own address protects nothing those programs could not reach anyway; the C libraries
# it opens keep theirs.
PRODUCT_FLAGS = --static-swift-stdlib -Xswiftc -Xclang-linker -Xswiftc -no-pie
build:
	$(SWIFT) build -c $(CONFIG) $(PRODUCT_FLAGS) --product udocker
	$(SWIFT) build -c $(CONFIG) $(PRODUCT_FLAGS) --product udocker-launch

deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBS)

test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 -s $(BUILDDIR)/udocker $(BUILDDIR)/udocker-launch $(DESTDIR)$(PREFIX)/bin/
	# The job templates `udocker-launch template` reads (bin/../share/udocker), and their finished examples.
	install -d $(DESTDIR)$(PREFIX)/share/udocker/slurm $(DESTDIR)$(PREFIX)/share/udocker/pbs
	install -m 0644 slurm/* $(DESTDIR)$(PREFIX)/share/udocker/slurm/
	install -m 0644 pbs/* $(DESTDIR)$(PREFIX)/share/udocker/pbs/

# dist/udocker-swift-VERSION-x86_64.tar.gz: both programs with every library they load (glibc included) and the
# engine tools, for any x86_64 Linux; a user unpacks it anywhere and runs its ./install (see README).
bundle: build
	packaging/bundle.sh $(BUILDDIR) $(VERSION) dist

# Installs the packages, builds, then loads an image made from Debian's busybox-static, creates a container
# and runs it; then two ranks of one MPI job through udocker-launch, from a Debian 12 image with Open MPI that
# mmdebstrap makes once into $(BUILDDIR)/demo-cache. Nothing is downloaded beyond the Debian packages.
demo: deps build
	./examples/demo.sh $(BUILDDIR)/udocker $(BUILDDIR)/udocker-launch $(BUILDDIR)/demo-cache

clean:
	rm -rf .build dist
