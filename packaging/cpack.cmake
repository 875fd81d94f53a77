# CPack: `cpack -G DEB` in the build folder makes a .deb of what `cmake --install` installs, with /usr as prefix.
set(CPACK_PACKAGE_NAME ckptlens)
set(CPACK_PACKAGE_VENDOR "Checkpoint Lens")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Look inside PyTorch checkpoints and safetensors files")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/ckptlens/ckptlens")
set(CKPTLENS_PACKAGE_MAINTAINER "Checkpoint Lens maintainers <ckptlens@users.noreply.github.com>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGE_CONTACT "${CKPTLENS_PACKAGE_MAINTAINER}")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# The long description; CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY above it as the synopsis and indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Checkpoint Lens shows what a PyTorch checkpoint (.pth, .pt, .ckpt, .bin) or a
safetensors file holds without loading it: the object tree, the module
hierarchy, every tensor's dtype, shape and storage, optimizer state,
statistics, histograms and heat maps. It compares and exports checkpoints and
reports what a file's pickles would import; pickles are interpreted, never
executed.

This package holds the desktop viewer (ckptlens) and the command-line tool
(ckptlens-cli).")
# Depends from the ELF files' NEEDED entries (Qt 6, QuaZip, spdlog, fmt, libstdc++...) through dpkg-shlibdeps, so
# the list follows whatever the executables really link. Qt's platform plugins are loaded, not linked: xcb ships in
# libqt6gui6 on Debian 12, so it is covered; the Wayland one is qt6-wayland, recommended only because Qt falls back
# to xcb through XWayland without it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS qt6-wayland)
# No postinst/postrm: dpkg triggers of shared-mime-info, desktop-file-utils and the hicolor icon cache rebuild the
# caches when files land in /usr/share/mime/packages, /usr/share/applications and /usr/share/icons/hicolor.

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/\\\\.cache/")

include(CPack)
