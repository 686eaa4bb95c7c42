"""Thin rclpy nodes, one per capability: parameters, topics, services, actions, diagnostics.

Each node wires a core from robot/, speech/ or printer/; logic belongs in the core.
"""
