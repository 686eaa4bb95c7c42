"""Seeing visitors, without ROS: face detection backends, tracking, engagement, camera sources.

    frames.py      validation of a frame (the one gate every image passes)
    detectors.py   YuNet / Haar backends chosen by name; head pose from landmarks
    geometry.py    camera intrinsics: distance from face size, bearing
    tracker.py     transient face ids, confirmation after N frames, loss after M misses
    engagement.py  per-face engagement levels and the dwell before ENGAGED
    perception.py  all of the above per frame -> faces + ARRIVED / ENGAGED / LEFT events
    sources.py     camera device, video file or image folder as frames
    errors.py      VisionError and its subclasses

No identity recognition anywhere; no face image is stored.
"""
