using System.Net;

namespace IdentityReconciliation.Providers.Internal;

/// <summary>
/// Travels with a request (in <see cref="HttpRequestMessage.Options"/>) so the client learns how many attempts the
/// resilience handler made and what the last one answered.
/// </summary>
internal sealed class AttemptTracker
{
    public static readonly HttpRequestOptionsKey<AttemptTracker> Key = new("IdentityReconciliation.Providers.AttemptTracker");

    private int _attempts;
    private int _lastStatus;

    public int Attempts => Volatile.Read(ref _attempts);

    public HttpStatusCode? LastStatusCode => Volatile.Read(ref _lastStatus) is var status and > 0 ? (HttpStatusCode)status : null;

    public void OnAttempt() => Interlocked.Increment(ref _attempts);

    public void OnResponse(HttpStatusCode statusCode) => Volatile.Write(ref _lastStatus, (int)statusCode);
}
