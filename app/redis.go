package app

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Beckon reaches Redis by one URL (REDIS_URL) in one of three forms:
//
//	redis://[[user]:password@]host:port[/db]                 one server
//	redis-sentinel://[[user]:password@]host1:26379,host2:26379/master[?db=0]
//	                                                         the master Sentinel names
//	redis-cluster://[[user]:password@]host1:7000,host2:7001 a cluster (its seed nodes)
//
// with rediss, rediss-sentinel and rediss-cluster for TLS. In the Sentinel
// form the user and password are the master's (and its replicas'); a
// password of the Sentinels themselves goes in sentinel_password (and
// sentinel_username). Every other query parameter is go-redis's own
// (dial_timeout, pool_size, …: ParseURL, ParseFailoverURL, ParseClusterURL).
// A host without a port gets 26379 (Sentinel) or 6379.

// redisTarget is a parsed REDIS_URL: exactly one of its options is set.
type redisTarget struct {
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// parseRedisURL parses raw (see above). Its errors never repeat the URL,
// which may hold a password.
func parseRedisURL(raw string) (redisTarget, error) {
	raw, hostList := cutHostList(raw)
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return redisTarget{}, fmt.Errorf("REDIS_URL: %w", err)
	}
	tls := strings.HasPrefix(u.Scheme, "rediss")
	base := "redis"
	if tls {
		base = "rediss"
	}
	var t redisTarget
	switch u.Scheme {
	case "redis", "rediss":
		t.single, err = redis.ParseURL(raw)
	case "redis-sentinel", "rediss-sentinel":
		t.failover, err = parseSentinelURL(u, hostList, base)
	case "redis-cluster", "rediss-cluster":
		t.cluster, err = parseClusterURL(u, hostList, base)
	default:
		return t, fmt.Errorf("REDIS_URL: scheme %q: use redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster", u.Scheme)
	}
	if err != nil {
		return redisTarget{}, fmt.Errorf("REDIS_URL: %w", err)
	}
	return t, nil
}

// hostsPlaceholder stands for a Sentinel or Cluster URL's host list while
// net/url parses the rest (it reads one host, with one port).
const hostsPlaceholder = "hosts.invalid"

// cutHostList takes the host list out of a Sentinel or Cluster URL, putting
// hostsPlaceholder in its place; other URLs are returned as they are.
func cutHostList(raw string) (string, string) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !strings.HasSuffix(scheme, "-sentinel") && !strings.HasSuffix(scheme, "-cluster") {
		return raw, ""
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	return scheme + "://" + userinfo + hostsPlaceholder + rest[end:], hosts
}

// client opens the client for the target: go-redis's Client, its failover
// client (a Client that asks the Sentinels where the master is, again after
// a failover) or its ClusterClient.
func (t redisTarget) client() redis.UniversalClient {
	switch {
	case t.failover != nil:
		return redis.NewFailoverClient(t.failover)
	case t.cluster != nil:
		return redis.NewClusterClient(t.cluster)
	}
	return redis.NewClient(t.single)
}

// parseSentinelURL maps the Sentinel form onto go-redis's failover URL
// (redis://sentinel-auth@sentinel1/db?master_name=…&addr=sentinel2&password=…).
func parseSentinelURL(u *url.URL, hostList, base string) (*redis.FailoverOptions, error) {
	master := strings.Trim(u.Path, "/")
	if master == "" || strings.Contains(master, "/") {
		return nil, errors.New("a Sentinel URL names the master as its path: redis-sentinel://host1:26379,host2:26379/mymaster")
	}
	hosts, err := splitHosts(hostList, "26379")
	if err != nil {
		return nil, err
	}
	q := u.Query()
	sentinelUser, sentinelPass := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	if err := noneOf(q, "master_name", "addr", "username", "password"); err != nil {
		return nil, err
	}
	q.Set("master_name", master)
	if u.User != nil {
		q.Set("username", u.User.Username())
		if p, ok := u.User.Password(); ok {
			q.Set("password", p)
		}
	}
	for _, h := range hosts[1:] {
		q.Add("addr", h)
	}
	g := url.URL{Scheme: base, Host: hosts[0], Path: "/", RawQuery: q.Encode()}
	if sentinelUser != "" || sentinelPass != "" {
		g.User = url.UserPassword(sentinelUser, sentinelPass)
	}
	return redis.ParseFailoverURL(g.String())
}

// parseClusterURL maps the Cluster form onto go-redis's cluster URL
// (redis://auth@node1?addr=node2&addr=node3).
func parseClusterURL(u *url.URL, hostList, base string) (*redis.ClusterOptions, error) {
	if p := strings.Trim(u.Path, "/"); p != "" {
		return nil, errors.New("a Cluster URL has no path (a cluster has only database 0): redis-cluster://host1:7000,host2:7001")
	}
	hosts, err := splitHosts(hostList, "6379")
	if err != nil {
		return nil, err
	}
	q := u.Query()
	if err := noneOf(q, "addr"); err != nil {
		return nil, err
	}
	for _, h := range hosts[1:] {
		q.Add("addr", h)
	}
	g := url.URL{Scheme: base, User: u.User, Host: hosts[0], RawQuery: q.Encode()}
	return redis.ParseClusterURL(g.String())
}

// splitHosts splits a comma list of host[:port], giving each its port.
func splitHosts(list, port string) ([]string, error) {
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		host, p, err := net.SplitHostPort(h)
		if err != nil {
			host, p = strings.Trim(h, "[]"), port
		}
		if host == "" || strings.ContainsAny(host, ":/@") && net.ParseIP(host) == nil {
			return nil, fmt.Errorf("host %q: want host or host:port", h)
		}
		hosts = append(hosts, net.JoinHostPort(host, p))
	}
	if len(hosts) == 0 {
		return nil, errors.New("no host: name one or more, separated by commas")
	}
	return hosts, nil
}

// noneOf refuses query parameters the URL's own parts set.
func noneOf(q url.Values, names ...string) error {
	for _, n := range names {
		if q.Has(n) {
			return fmt.Errorf("query parameter %s: set it in the URL itself (hosts, path, user and password)", n)
		}
	}
	return nil
}
