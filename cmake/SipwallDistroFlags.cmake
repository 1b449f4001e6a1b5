# Debian's build flags for the release build (SIPWALL_DISTRO_FLAGS, set by the
# `release` preset): what `dpkg-buildflags` gives a Debian package with
# DEB_BUILD_MAINT_OPTIONS=hardening=+all, read once at configure time, so
# scripts/test.sh, scripts/demo.sh, CI and the .deb all build the same way.
# On Debian 12 (amd64) that is
#   CPPFLAGS  -Wdate-time -D_FORTIFY_SOURCE=2
#   CXXFLAGS  -fstack-protector-strong -Wformat -Werror=format-security
#   LDFLAGS   -Wl,-z,relro -Wl,-z,now
# (PIE is the compiler's default there). Without them lintian reports
# hardening-no-bindnow and hardening-no-fortify-functions on the binaries.
#
# Three parts are left out: the optimisation level (-O2 is the project's, top
# CMakeLists), debug info (-g: the package strips it, and it triples the build
# output) and -ffile-prefix-map=<checkout>=. (it rewrites the paths in debug
# info and __FILE__, neither of which the stripped NDEBUG binaries hold, and
# naming the checkout on every command line would stop ccache from sharing
# objects between checkouts). The variables dpkg-buildflags honours (DEB_CXXFLAGS_APPEND,
# DEB_BUILD_MAINT_OPTIONS, ...) apply as usual; hardening=+all is added to
# whatever DEB_BUILD_MAINT_OPTIONS the environment already holds.
# docs/deploy.md, "Build flags", has the measured cost on the packet path.
option(SIPWALL_DISTRO_FLAGS "Compile and link with Debian's dpkg-buildflags (hardening=+all)" OFF)
if(NOT SIPWALL_DISTRO_FLAGS)
  return()
endif()
if(SIPWALL_SANITIZE OR SIPWALL_FUZZ)
  message(FATAL_ERROR "SIPWALL_DISTRO_FLAGS is for the release build: _FORTIFY_SOURCE and the sanitizers "
                      "do not mix (use the asan/fuzz presets as they are)")
endif()
find_program(SIPWALL_DPKG_BUILDFLAGS dpkg-buildflags)
if(NOT SIPWALL_DPKG_BUILDFLAGS)
  message(FATAL_ERROR "SIPWALL_DISTRO_FLAGS needs dpkg-buildflags (Debian package dpkg-dev; scripts/deps.sh "
                      "installs it with build-essential)")
endif()

set(_maint "hardening=+all")
if(DEFINED ENV{DEB_BUILD_MAINT_OPTIONS} AND NOT "$ENV{DEB_BUILD_MAINT_OPTIONS}" STREQUAL "")
  set(_maint "$ENV{DEB_BUILD_MAINT_OPTIONS} hardening=+all")
endif()

# sipwall_dpkg_buildflags(<FLAGS kind> <out var>): one kind, as a list, without
# the optimisation level, debug info and path maps.
function(sipwall_dpkg_buildflags kind out)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "DEB_BUILD_MAINT_OPTIONS=${_maint}" ${SIPWALL_DPKG_BUILDFLAGS} --get ${kind}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    OUTPUT_VARIABLE flags ERROR_VARIABLE err RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dpkg-buildflags --get ${kind} failed (${rc}): ${err}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  list(FILTER flags EXCLUDE REGEX "^-O[0-9sgz]?$|^-g[0-9]?$|^-f(file|debug|macro)-prefix-map=")
  set(${out} ${flags} PARENT_SCOPE)
endfunction()

sipwall_dpkg_buildflags(CPPFLAGS SIPWALL_DISTRO_CPPFLAGS)
sipwall_dpkg_buildflags(CFLAGS SIPWALL_DISTRO_CFLAGS)
sipwall_dpkg_buildflags(CXXFLAGS SIPWALL_DISTRO_CXXFLAGS)
sipwall_dpkg_buildflags(LDFLAGS SIPWALL_DISTRO_LDFLAGS)
list(JOIN SIPWALL_DISTRO_CPPFLAGS " " _cpp)
list(JOIN SIPWALL_DISTRO_CXXFLAGS " " _cxx)
list(JOIN SIPWALL_DISTRO_LDFLAGS " " _ld)
message(STATUS "dpkg-buildflags (${_maint}): CPPFLAGS ${_cpp}; CXXFLAGS ${_cxx}; LDFLAGS ${_ld}")

# Every target of the build, tests and benchmarks included: the tests run the
# code as it ships and the benchmarks measure it.
add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${SIPWALL_DISTRO_CPPFLAGS}>"
                    "$<$<COMPILE_LANGUAGE:C>:${SIPWALL_DISTRO_CFLAGS}>"
                    "$<$<COMPILE_LANGUAGE:CXX>:${SIPWALL_DISTRO_CXXFLAGS}>")
add_link_options(${SIPWALL_DISTRO_LDFLAGS})
