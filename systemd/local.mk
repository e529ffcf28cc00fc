dist_catalog_DATA = systemd/inferwatch.catalog
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir=$$dc_install_base/$(systemdsystemunitdir) \
	--with-catalogdir=$$dc_install_base/$(catalogdir)
