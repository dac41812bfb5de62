"""Chromium through Selenium for the console's browser tests (Debian's chromium and chromium-driver)."""

import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

# Without these Chromium keeps calling home on a closed network (and slows everything down).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


def chromium(profile):
    """Chromium with its profile in `profile` (a folder of its own: the browsers of a run share nothing)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS + ["--user-data-dir=" + profile]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    return driver


class Browser:
    """One signed-in person's browser on the console at `base`."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.profile = tempfile.mkdtemp(prefix="console-chromium-")
        self.driver = chromium(self.profile)

    def get(self, path):
        self.driver.get(self.base + path)

    def sign_in(self, username, password):
        self.get("/login/")
        self.driver.find_element(By.ID, "id_username").send_keys(username)
        self.driver.find_element(By.ID, "id_password").send_keys(password)
        self.driver.find_element(By.ID, "signin").click()
        self.wait(lambda: "/login/" not in self.driver.current_url, 20)

    def text(self, css="body"):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def find(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, element_id, value):
        element = self.driver.find_element(By.ID, element_id)
        element.clear()
        element.send_keys(value)

    def click(self, element_id):
        self.driver.find_element(By.ID, element_id).click()

    def wait(self, predicate, seconds, step=0.5):
        """Poll `predicate` (bounded in time); return its last value, raise when it never held."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                value = predicate()
            except Exception:  # pylint: disable=broad-except  (an element not there yet)
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true after {seconds} s: {predicate}")
            time.sleep(step)

    def screenshot(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.driver.save_screenshot(path)

    def quit(self):
        """Close the browser and remove its profile (each run left ~4 folders in /tmp before)."""
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
