# Install rules and the Debian package (CPack, DEB generator).
#
#   cmake --build build && (cd build && cpack -G DEB)      -> build/sipwall_<version>_<arch>.deb
#
# What goes where (docs/deploy.md has the operator's view):
#   /usr/bin                      sipwall-dataplane, sipwall-control, sipwallctl
#   /usr/share/man/man8           their manual pages (deploy/man, hand-written roff)
#   /usr/share/bash-completion/completions  their bash completion (deploy/bash-completion)
#   /lib/systemd/system           sipwall-dataplane.service, sipwall-control.service
#   /usr/lib/sysusers.d, tmpfiles.d  sipwall.conf (user/group sipwall; /run, /var/lib, /var/log dirs)
#   /etc/sipwall                  sipwall.yaml, control.yaml, rules/main.yaml (conffiles);
#                                 main.yaml is deploy/rules/main.yaml: no rules, every INVITE passes
#   /usr/share/doc/sipwall        README, docs/*.md, copyright, examples/ (the three config shapes,
#                                 rule sets and their lists, Grafana dashboard, Prometheus scrape + alerts)
# Maintainer scripts: deploy/debian/{postinst,prerm,postrm}.
# Included from the top CMakeLists.txt when the data plane is built (the
# package needs all three binaries). tests/package/ checks the result.

set(SIPWALL_VERSION ${PROJECT_VERSION})
# Debian revision of the package (the part after '-'): bump it when only the
# packaging changes.
set(SIPWALL_DEB_REVISION 1 CACHE STRING "Debian revision of the sipwall package")
set(SIPWALL_DEB_VERSION "${SIPWALL_VERSION}-${SIPWALL_DEB_REVISION}")

# `cpack` (and `ninja install`) must not rebuild the whole tree, the tests
# and benchmarks included: the binaries are built by the normal build.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(_deploy ${CMAKE_SOURCE_DIR}/deploy)

install(TARGETS sipwall-dataplane sipwall-control sipwallctl RUNTIME DESTINATION bin)
# What dh_strip does beyond `strip`: drop the .comment (compiler version) and
# .note sections, which lintian reports as binary-has-unneeded-section. Only
# when installing stripped (cpack: CPACK_STRIP_FILES).
install(CODE "set(SIPWALL_OBJCOPY \"${CMAKE_OBJCOPY}\")")
install(CODE [[
  if(CMAKE_INSTALL_DO_STRIP)
    foreach(_b sipwall-dataplane sipwall-control sipwallctl)
      set(_f "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/bin/${_b}")
      execute_process(COMMAND "${SIPWALL_OBJCOPY}" --remove-section=.comment --remove-section=.note "${_f}"
                      RESULT_VARIABLE _rc)
      if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "objcopy --remove-section=.comment ${_f} failed (${_rc})")
      endif()
    endforeach()
  endif()
]])

install(FILES ${_deploy}/systemd/sipwall-dataplane.service ${_deploy}/systemd/sipwall-control.service
        DESTINATION /lib/systemd/system)
install(FILES ${_deploy}/systemd/sipwall.sysusers DESTINATION lib/sysusers.d RENAME sipwall.conf)
install(FILES ${_deploy}/systemd/sipwall.tmpfiles DESTINATION lib/tmpfiles.d RENAME sipwall.conf)

# Configuration: every file under /etc/sipwall is a conffile (dpkg keeps the
# operator's edits on upgrade and asks about conflicts). The live rule set is
# a pass-all set (no rules, no lists; its comments say how to start): the
# example rule sets name example trunks and numbers and belong under
# /usr/share/doc, not in force on a fresh box.
set(_conffiles
  /etc/sipwall/sipwall.yaml
  /etc/sipwall/control.yaml
  /etc/sipwall/rules/main.yaml
  /etc/logrotate.d/sipwall)
install(FILES ${_deploy}/logrotate/sipwall DESTINATION /etc/logrotate.d)
install(FILES ${_deploy}/examples/sipwall.yaml ${_deploy}/examples/control.yaml DESTINATION /etc/sipwall)
install(FILES ${_deploy}/rules/main.yaml DESTINATION /etc/sipwall/rules)
list(JOIN _conffiles "\n" _conffiles_text)
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "${_conffiles_text}\n")

# Documentation and examples.
set(_doc share/doc/sipwall)
file(GLOB _docs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${_docs} DESTINATION ${_doc})
install(FILES ${_deploy}/debian/copyright DESTINATION ${_doc})
file(GLOB _examples CONFIGURE_DEPENDS ${_deploy}/examples/*.yaml)
install(FILES ${_examples} DESTINATION ${_doc}/examples)
install(DIRECTORY ${_deploy}/grafana ${_deploy}/prometheus DESTINATION ${_doc}/examples)
file(GLOB _rule_examples CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/rules/examples/*.yaml)
file(GLOB _rule_lists CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/rules/examples/lists/*.txt)
install(FILES ${_rule_examples} ${CMAKE_SOURCE_DIR}/rules/examples/README.md DESTINATION ${_doc}/examples/rules)
install(FILES ${_rule_lists} DESTINATION ${_doc}/examples/rules/lists)
# Lintian tags that do not apply to a package built outside the Debian
# archive (deploy/debian/lintian-overrides says why).
install(FILES ${_deploy}/debian/lintian-overrides DESTINATION share/lintian/overrides RENAME sipwall)

# changelog.Debian.gz, as Debian policy wants it (gzip -9n: no name/time;
# string(TIMESTAMP) honours SOURCE_DATE_EPOCH for reproducible builds).
string(TIMESTAMP SIPWALL_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
# Maintainer: who builds and answers for the package. The project has no mail
# domain of its own, so the default is the project's name and a role address
# under the reserved .invalid domain (RFC 6761: it can never reach a stranger,
# unlike a guessed real domain or example.org). Build a package for your
# network with your team's address: -DSIPWALL_DEB_MAINTAINER="NOC <noc@example.net>".
set(SIPWALL_DEB_MAINTAINER "sipwall maintainers <maintainers@sipwall.invalid>"
    CACHE STRING "Maintainer field of the .deb and its changelog: \"Name <address>\"")
set(CPACK_PACKAGE_CONTACT "${SIPWALL_DEB_MAINTAINER}")
configure_file(${_deploy}/debian/changelog.in ${CMAKE_BINARY_DIR}/debian/changelog.Debian @ONLY)
find_program(SIPWALL_GZIP gzip REQUIRED)
execute_process(COMMAND ${SIPWALL_GZIP} -9nf -k ${CMAKE_BINARY_DIR}/debian/changelog.Debian)
install(FILES ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz DESTINATION ${_doc})

# Manual pages (section 8: the three are administration commands) and bash
# completion. The pages are roff as written; configure fills in the version
# and compresses them (gzip -9n: no name or time stamp), like the changelog
# above, so `cpack` after any build finds them.
set(SIPWALL_COMMANDS sipwall-dataplane sipwall-control sipwallctl)
foreach(_cmd IN LISTS SIPWALL_COMMANDS)
  configure_file(${_deploy}/man/${_cmd}.8 ${CMAKE_BINARY_DIR}/man/${_cmd}.8 @ONLY)
  execute_process(COMMAND ${SIPWALL_GZIP} -9nf -k ${CMAKE_BINARY_DIR}/man/${_cmd}.8 COMMAND_ERROR_IS_FATAL ANY)
  install(FILES ${CMAKE_BINARY_DIR}/man/${_cmd}.8.gz DESTINATION share/man/man8)
  install(FILES ${_deploy}/bash-completion/${_cmd} DESTINATION share/bash-completion/completions)
endforeach()

# CPack: one .deb, its dependencies computed by dpkg-shlibdeps from the
# binaries (DPDK, Hyperscan, yaml-cpp, ... runtime libraries), plus what the
# units and maintainer scripts use.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sipwall)
set(CPACK_PACKAGE_VERSION ${SIPWALL_VERSION})
set(CPACK_PACKAGE_VENDOR "sipwall")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SIP INVITE filter appliance on DPDK")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "sipwall filters SIP INVITEs between carrier trunks and a core network.\n"
  "A DPDK data plane sits as a bump in the wire between port pairs and\n"
  "passes, drops, rejects or tags each INVITE by a compiled rule set; a\n"
  "control daemon compiles rule files, publishes them without dropping\n"
  "traffic, exports Prometheus metrics and writes a verdict trace log.\n"
  "This package ships the data plane, the control daemon, the sipwallctl\n"
  "CLI, systemd units and example configurations.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${SIPWALL_DEB_REVISION})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/sipwall/sipwall")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dpdk: dpdk.service (hugepages, port binding) that the data-plane unit requires.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, dpdk")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, bash-completion")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_deploy}/debian/postinst ${_deploy}/debian/prerm ${_deploy}/debian/postrm
  ${CMAKE_BINARY_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Directories in the package: 0755 (lintian); the private ones get their
# modes from postinst / tmpfiles.
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
include(CPack)
