// Counting this process's open file descriptors and live child processes,
// for tests that check nothing leaks across worker lifetimes.
#ifndef RINGFENCE_TESTS_PROCESS_CENSUS_H_
#define RINGFENCE_TESTS_PROCESS_CENSUS_H_

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

namespace ringfence::testing {

inline int OpenFdCount() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
  closedir(dir);
  return count - 1;  // the directory's own
}

// Live (non-zombie) child processes of this process.
inline std::vector<pid_t> ChildPids() {
  std::vector<pid_t> children;
  DIR* dir = opendir("/proc");
  std::string me = std::to_string(getpid());
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t end = line.rfind(')');
    if (end == std::string::npos) continue;
    std::string rest = line.substr(end + 2);  // "S PPID ..."
    std::string ppid = rest.substr(2, rest.find(' ', 2) - 2);
    if (ppid == me && rest[0] != 'Z') children.push_back(std::stoi(entry->d_name));
  }
  closedir(dir);
  return children;
}

inline int ChildCount() { return static_cast<int>(ChildPids().size()); }

}  // namespace ringfence::testing

#endif  // RINGFENCE_TESTS_PROCESS_CENSUS_H_
