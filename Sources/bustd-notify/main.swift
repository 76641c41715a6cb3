// Placeholder until the event socket exists: bustd-notify will subscribe to
// bustd's kill events and raise desktop notifications.
import Shared

print("bustd-notify \(bustdVersion): not implemented yet; bustd logs its kills to the journal or syslog")
