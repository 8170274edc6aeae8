// vigilctl's commands that have files of their own (vigilctl_main.cc holds the small ones).
// Each takes the arguments after its name and returns the exit status.
#pragma once

#include <string>
#include <vector>

namespace vigil::cli::ctl {

int RunQuery(const std::vector<std::string>& args);    // vigilctl_query.cc
int RunResults(const std::vector<std::string>& args);  // vigilctl_query.cc
int RunConfig(const std::vector<std::string>& args);   // vigilctl_config.cc
int RunReport(const std::vector<std::string>& args);   // vigilctl_report.cc
int RunRemediate(const std::vector<std::string>& args);    // vigilctl_tasks.cc
int RunTaskCommand(const std::vector<std::string>& args);  // vigilctl_tasks.cc: task KIND
int RunTasks(const std::vector<std::string>& args);        // vigilctl_tasks.cc

}  // namespace vigil::cli::ctl
