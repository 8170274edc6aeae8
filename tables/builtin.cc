#include "tables/builtin.h"

#include <memory>

namespace vigil::tables {

// Each factory lives in the file named after its table.
std::unique_ptr<Table> MakeAideStatusTable();
std::unique_ptr<Table> MakeAptSourcesTable();
std::unique_ptr<Table> MakeAuditConfigTable();
std::unique_ptr<Table> MakeAuditRulesTable();
std::unique_ptr<Table> MakeAuthorizedKeysTable();
std::unique_ptr<Table> MakeCertificatesTable();
std::unique_ptr<Table> MakeClamavStatusTable();
std::unique_ptr<Table> MakeConfigEntriesTable();
std::unique_ptr<Table> MakeCrontabTable();
std::unique_ptr<Table> MakeDebPackageUpdatesTable();
std::unique_ptr<Table> MakeDebPackagesTable();
std::unique_ptr<Table> MakeDnsResolversTable();
std::unique_ptr<Table> MakeEtcHostsTable();
std::unique_ptr<Table> MakeFileTable();
std::unique_ptr<Table> MakeFileLinesTable();
std::unique_ptr<Table> MakeGroupsTable();
std::unique_ptr<Table> MakeHashTable();
std::unique_ptr<Table> MakeInterfaceAddressesTable();
std::unique_ptr<Table> MakeInterfaceDetailsTable();
std::unique_ptr<Table> MakeKernelInfoTable();
std::unique_ptr<Table> MakeKernelModulesTable();
std::unique_ptr<Table> MakeLastTable();
std::unique_ptr<Table> MakeLimitsTable();
std::unique_ptr<Table> MakeListeningPortsTable();
std::unique_ptr<Table> MakeLoggedInUsersTable();
std::unique_ptr<Table> MakeLoginBannersTable();
std::unique_ptr<Table> MakeLoginDefsTable();
std::unique_ptr<Table> MakeLogrotateRulesTable();
std::unique_ptr<Table> MakeModprobeRulesTable();
std::unique_ptr<Table> MakeMountsTable();
std::unique_ptr<Table> MakeNftablesRulesTable();
std::unique_ptr<Table> MakeOsVersionTable();
std::unique_ptr<Table> MakePamEntriesTable();
std::unique_ptr<Table> MakeProcessOpenSocketsTable();
std::unique_ptr<Table> MakeProcessesTable();
std::unique_ptr<Table> MakeRoutesTable();
std::unique_ptr<Table> MakeShadowTable();
std::unique_ptr<Table> MakeSshHostKeysTable();
std::unique_ptr<Table> MakeSshdConfigTable();
std::unique_ptr<Table> MakeSudoersTable();
std::unique_ptr<Table> MakeSuidBinTable();
std::unique_ptr<Table> MakeSystemControlsTable();
std::unique_ptr<Table> MakeSystemInfoTable();
std::unique_ptr<Table> MakeSystemdTimersTable();
std::unique_ptr<Table> MakeSystemdUnitsTable();
std::unique_ptr<Table> MakeTimeSyncTable();
std::unique_ptr<Table> MakeUptimeTable();
std::unique_ptr<Table> MakeUsbDevicesTable();
std::unique_ptr<Table> MakeUserGroupsTable();
std::unique_ptr<Table> MakeUsersTable();

Status RegisterBuiltinTables(TableRegistry& registry) {
  std::unique_ptr<Table> (*const factories[])() = {
      MakeAideStatusTable,
      MakeAptSourcesTable,
      MakeAuditConfigTable,
      MakeAuditRulesTable,
      MakeAuthorizedKeysTable,
      MakeCertificatesTable,
      MakeClamavStatusTable,
      MakeConfigEntriesTable,
      MakeCrontabTable,
      MakeDebPackageUpdatesTable,
      MakeDebPackagesTable,
      MakeDnsResolversTable,
      MakeEtcHostsTable,
      MakeFileTable,
      MakeFileLinesTable,
      MakeGroupsTable,
      MakeHashTable,
      MakeInterfaceAddressesTable,
      MakeInterfaceDetailsTable,
      MakeKernelInfoTable,
      MakeKernelModulesTable,
      MakeLastTable,
      MakeLimitsTable,
      MakeListeningPortsTable,
      MakeLoggedInUsersTable,
      MakeLoginBannersTable,
      MakeLoginDefsTable,
      MakeLogrotateRulesTable,
      MakeModprobeRulesTable,
      MakeMountsTable,
      MakeNftablesRulesTable,
      MakeOsVersionTable,
      MakePamEntriesTable,
      MakeProcessOpenSocketsTable,
      MakeProcessesTable,
      MakeRoutesTable,
      MakeShadowTable,
      MakeSshHostKeysTable,
      MakeSshdConfigTable,
      MakeSudoersTable,
      MakeSuidBinTable,
      MakeSystemControlsTable,
      MakeSystemInfoTable,
      MakeSystemdTimersTable,
      MakeSystemdUnitsTable,
      MakeTimeSyncTable,
      MakeUptimeTable,
      MakeUsbDevicesTable,
      MakeUserGroupsTable,
      MakeUsersTable,
  };
  for (auto* make : factories) {
    VIGIL_RETURN_IF_ERROR(registry.Add(make()));
  }
  return RegisterIntrospectionTables(registry);
}

}  // namespace vigil::tables
