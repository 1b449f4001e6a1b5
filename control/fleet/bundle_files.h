// A bundle's files on disk. The publisher reads the rule file and its list
// files (bounded reads, as the rule loader reads them) into a bundle; an
// appliance writes a fetched bundle into its rules folder, each file through
// a temporary file, fsync and rename (list files first, the rule file last),
// after copying aside the files it replaces, so that a set the appliance
// refuses can be put back exactly as it was (restore_files).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "control/fleet/bundle.h"

namespace sipwall::fleet {

struct LocalBundle {
  Manifest manifest;                  // files and their hashes; seq, name ... filled by the caller
  std::vector<std::string> contents;  // same order as manifest.files
};

// Reads `rule_file` and `list_files` (paths as the loader reports them).
// Every list file must lie under the rule file's folder (a bundle carries
// relative paths only). False with `error` set.
bool read_local_bundle(const std::filesystem::path& rule_file, const std::vector<std::string>& list_files,
                       LocalBundle& out, std::string& error);

// Writes the bundle into `rules_dir`: files[0] as `rule_file_name`, the
// others at their relative paths (folders created). First copies every file
// it will replace into `backup_dir` (emptied first) and notes the ones it
// creates. False with `error` set (what was written stays; restore_files
// undoes it).
bool install_files(const std::filesystem::path& rules_dir, const std::string& rule_file_name, const Manifest& m,
                   const std::vector<std::string>& contents, const std::filesystem::path& backup_dir,
                   std::string& error);

// Puts back what the last install_files replaced, and removes what it created.
bool restore_files(const std::filesystem::path& rules_dir, const std::filesystem::path& backup_dir, std::string& error);

// Writes `content` to `path` through `path.fleet-tmp`, fsync, rename, and
// fsyncs the folder.
bool write_file_atomically(const std::filesystem::path& path, std::string_view content, std::string& error);

}  // namespace sipwall::fleet
