"""Ticket layout, raster rendering and ESC/POS output (python-escpos). No ROS imports."""
