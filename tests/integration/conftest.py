def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes (a whole platform of processes)")
