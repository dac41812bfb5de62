"""plugins/modules/installed_packages.py: names only, and only what dpkg has fully installed."""

from ansible_collections.infra.hosting.plugins.modules import installed_packages

# dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n': three state characters, a space, the name.
OUTPUT = """ii  nginx
ii  openssl
rc  apache2
iU  php8.3-fpm
iF  half-configured
iHR broken
un  never-installed
ii  nginx
ii  libc6
"""


def test_only_fully_installed_names_sorted_once():
    assert installed_packages.parse_installed(OUTPUT) == ["libc6", "nginx", "openssl"]


def test_nothing_read_nothing_installed():
    assert installed_packages.parse_installed("") == []
    assert installed_packages.parse_installed("ii  \n") == []


def test_the_query_asks_for_the_state_and_the_name_only():
    assert installed_packages.QUERY_FORMAT == "${db:Status-Abbrev} ${Package}\\n"
