"""The `simrenew` command line: one module per command group, registered in `main.py`.

Commands are thin: they read settings, build the platform through `bootstrap`, call services and
print. Errors the services raise become one red line on stderr and exit code 2.
"""
