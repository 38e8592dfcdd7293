# gardener.autonomous: the two commands a newcomer needs are `make up` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
VENV := $(CURDIR)/.venv
PLAYBOOK := $(VENV)/bin/ansible-playbook
# high: machines listed in the inventory (local site); medium: created through Gardener extensions.
SCENARIO ?= high
# Local site sizes; unset means "what the site has now" (first time: 3 control-plane machines, 2 workers).
CONTROL_PLANES ?=
WORKERS ?=
SITE_SIZES := $(if $(CONTROL_PLANES),-e local_site_control_plane_count=$(CONTROL_PLANES)) \
              $(if $(WORKERS),-e local_site_worker_count=$(WORKERS))

.PHONY: help setup site up down test

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## Install and build everything (venv, collections, Docker, node image, Kubernetes, offline bundle)
	@hack/setup.sh

site: setup ## Bring up only the local site's machines (no cluster)
	@$(PLAYBOOK) hack/local-site.yml -e local_site_state=present $(SITE_SIZES)

ifeq ($(SCENARIO),medium)
up: setup ## Bring up the local site and run the main playbook on it (SCENARIO=medium: through Gardener extensions)
	@hack/local-medium.sh start
	@$(PLAYBOOK) -i inventories/local-medium playbooks/autonomous-shoot.yml
else
up: site
	@$(PLAYBOOK) -i inventories/local playbooks/autonomous-shoot.yml
endif

down: ## Remove the local sites (exactly what `make up` created, both scenarios)
	@if [ -x $(PLAYBOOK) ]; then $(PLAYBOOK) hack/local-site.yml -e local_site_state=absent; fi
	@if [ -x $(VENV)/bin/python ]; then hack/local-medium.sh stop; fi

test: setup ## Run every test stage (unit, lint, sanity, build, integration, molecule, end to end)
	@hack/test.sh $(STAGES)
