// crossdock schema: prints the JSON Schema of crossdock.toml (core/config_schema.h)
// for editors that complete and check TOML against one.
#include <fmt/format.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "core/config_schema.h"

namespace crossdock::cmd {

namespace po = boost::program_options;

int RunSchema(const Args& args) {
  po::options_description desc("Options");
  desc.add_options()("help,h", "Show this help");
  po::variables_map vm;
  if (auto rc = ParseArgs(args, desc, {},
                          "Usage: crossdock schema [options]\n"
                          "\n"
                          "Prints the JSON Schema (draft 2020-12) of crossdock.toml: every key "
                          "with its type,\n"
                          "allowed values, default and description. Editors that read a "
                          "#:schema line\n"
                          "(taplo, Even Better TOML) use it to complete and check the config:\n"
                          "\n"
                          "  crossdock schema > crossdock.schema.json\n"
                          "  # first line of crossdock.toml:\n"
                          "  #:schema ./crossdock.schema.json",
                          &vm))
    return *rc;
  fmt::print("{}\n", core::ConfigSchema().dump(2));
  return kExitOk;
}

}  // namespace crossdock::cmd
