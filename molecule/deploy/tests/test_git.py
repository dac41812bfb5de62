"""The lab git server: refs served on port 9418; no scheduler of any site there."""

testinfra_hosts = ["mol-deploy-git"]


def test_git_daemon_serves_the_refs(host):
    assert host.socket("tcp://0.0.0.0:9418").is_listening
    refs = host.check_output("git ls-remote git://127.0.0.1/testapp.git")
    for ref in ("refs/heads/main", "refs/heads/v2", "refs/heads/bad-migration", "refs/heads/bad-health"):
        assert ref in refs


def test_no_scheduler_on_other_hosts(host):
    assert not host.file("/etc/systemd/system/demo-scheduler.timer").exists
