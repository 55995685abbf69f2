# Network namespaces for the partition scenarios (sourced after lib.sh; root only). A namespace gets a veth pair
# to the host; the host side carries PREFIX.1.1 (PostgreSQL's address) and PREFIX.2.1 (Kafka's), the namespace
# side PREFIX.1.2 and PREFIX.2.2, so a blackhole route cuts one service and not the other, and the TCP
# connections through it stay open and silent. Traffic goes only between the test's namespaces and loopback.
#
#   netns_make NS VETH_HOST VETH_NS PREFIX   the namespace, its loopback up, the pair addressed and up
#   netns_proxy [ip netns exec NS] tcpproxy LISTEN TARGET
#                                            a forwarding-only tcpproxy in the background (in T_BG_PIDS)
#   netns_cut NS ADDRESS / netns_heal NS ADDRESS
#                                            a blackhole route to ADDRESS inside NS, added / removed

netns_make() { # ns veth-host veth-ns prefix
	ip netns add "$1"
	ip link add "$2" type veth peer name "$3"
	ip link set "$3" netns "$1"
	ip addr add "$4.1.1/24" dev "$2"
	ip addr add "$4.2.1/24" dev "$2"
	ip link set "$2" up
	ip netns exec "$1" ip link set lo up
	ip netns exec "$1" ip addr add "$4.1.2/24" dev "$3"
	ip netns exec "$1" ip addr add "$4.2.2/24" dev "$3"
	ip netns exec "$1" ip link set "$3" up
}

netns_proxy() {
	"$@" none 1 0 >>"$T_DIR/proxies.log" 2>&1 &
	T_BG_PIDS="$T_BG_PIDS $!"
}

netns_cut() { ip netns exec "$1" ip route add blackhole "$2/32"; }
netns_heal() { ip netns exec "$1" ip route del blackhole "$2/32"; }
