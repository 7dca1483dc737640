"""Whether the plots may draw through OpenGL here (the window asks; so does the start-up)."""
from __future__ import annotations


def resolve_opengl(requested: bool) -> tuple[bool, str]:
    """OpenGL only where a context can really be made; never on the offscreen platform."""
    if not requested:
        return False, "off"
    from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext

    platform = QGuiApplication.platformName()
    if platform == "offscreen":
        return False, "unavailable on the offscreen platform"
    ctx = QOpenGLContext()
    if not ctx.create():
        return False, "no OpenGL context could be created"
    surface = QOffscreenSurface()
    surface.create()
    ok = ctx.makeCurrent(surface)
    renderer = ""
    if ok:
        renderer = str(ctx.functions().glGetString(0x1F01) or "")  # GL_RENDERER
        ctx.doneCurrent()
    return (True, f"OpenGL ({renderer})" if renderer else "OpenGL") if ok else (False, "context not usable")
