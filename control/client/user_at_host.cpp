#include "control/client/user_at_host.h"

#include <pwd.h>
#include <unistd.h>

namespace sipwall::control {

std::string user_at_host() {
  std::string user = "?";
  if (const passwd* pw = ::getpwuid(::geteuid())) user = pw->pw_name;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return user + "@" + host;
}

}  // namespace sipwall::control
