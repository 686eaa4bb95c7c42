"""Scripts, launch files and a throw-away ament prefix for the launch runner tests."""
