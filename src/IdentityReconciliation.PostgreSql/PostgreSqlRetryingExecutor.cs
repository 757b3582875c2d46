using IdentityReconciliation.PostgreSql.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace IdentityReconciliation.PostgreSql;

/// <summary>
/// Runs a unit of work on a connection of its own, and runs it again after a transient failure, with exponential back-off
/// and jitter, up to <see cref="PostgreSqlContactStoreOptions.MaxRetryAttempts"/> times (the shape of efcore.pg's
/// <c>NpgsqlRetryingExecutionStrategy</c>). A unit is one transaction that rolls back whole on failure, and every unit
/// the store runs is idempotent, so re-running one whose commit did succeed before the connection dropped plans nothing.
/// </summary>
internal sealed class PostgreSqlRetryingExecutor
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly int _maxRetryAttempts;
    private readonly TimeSpan _retryBaseDelay;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public PostgreSqlRetryingExecutor(NpgsqlDataSource dataSource, int maxRetryAttempts, TimeSpan retryBaseDelay, TimeProvider timeProvider, ILogger logger)
    {
        _dataSource = dataSource;
        _maxRetryAttempts = maxRetryAttempts;
        _retryBaseDelay = retryBaseDelay;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Runs <paramref name="unit"/> on its own connection, re-running it after transient failures.</summary>
    /// <exception cref="ContactStoreBusyException">A lock, statement or connection wait elapsed.</exception>
    /// <exception cref="PostgreSqlTransientFailureException">Every attempt failed transiently.</exception>
    /// <exception cref="PostgreSqlContactStoreException">Any other database failure.</exception>
    public Task<T> RunAsync<T>(string operation, Func<NpgsqlConnection, CancellationToken, Task<T>> unit, CancellationToken cancellationToken) =>
        RunAsync(operation, unit, static (connection, unit, ct) => unit(connection, ct), cancellationToken);

    /// <summary>Runs <paramref name="unit"/> with <paramref name="state"/> (so that a hot caller passes a static lambda and allocates no closure).</summary>
    /// <exception cref="ContactStoreBusyException">A lock, statement or connection wait elapsed.</exception>
    /// <exception cref="PostgreSqlTransientFailureException">Every attempt failed transiently.</exception>
    /// <exception cref="PostgreSqlContactStoreException">Any other database failure.</exception>
    public async Task<T> RunAsync<TState, T>(string operation, TState state, Func<NpgsqlConnection, TState, CancellationToken, Task<T>> unit, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    return await unit(connection, state, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested && PostgreSqlTransientExceptionDetector.IsBusy(ex))
            {
                // The configured wait already elapsed: retrying here would multiply it. The caller decides.
                PostgreSqlStoreMetrics.Busy(operation);
                throw new ContactStoreBusyException(
                    $"PostgreSQL {operation} timed out waiting for a lock or a connection ({ex.Message.TrimEnd('.')}). Nothing was applied; try again later.",
                    ContactStoreBusyException.DefaultRetryAfter,
                    ex);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested && PostgreSqlTransientExceptionDetector.IsTransient(ex))
            {
                var sqlState = (ex as PostgresException)?.SqlState;
                if (PostgreSqlTransientExceptionDetector.ConnectionLost(sqlState))
                {
                    _dataSource.Clear();
                }

                var retrying = attempt <= _maxRetryAttempts;
                PostgreSqlStoreMetrics.TransientFailure(operation, sqlState, retrying);
                if (!retrying)
                {
                    throw new PostgreSqlTransientFailureException(
                        $"PostgreSQL {operation} failed transiently {attempt} time(s): {ex.Message}", ex, sqlState, attempt);
                }

                var delay = RetryDelay(attempt);
                Log.RetryingTransientFailure(_logger, ex, operation, attempt, _maxRetryAttempts + 1, sqlState ?? "none", (long)delay.TotalMilliseconds);
                PostgreSqlStoreMetrics.Retry(operation);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (PostgresException ex) when (!cancellationToken.IsCancellationRequested
                && ex.SqlState == PostgresErrorCodes.InvalidTextRepresentation
                && ex.MessageText.Contains(PostgreSqlQueries.UpdateMismatchMarker, StringComparison.Ordinal))
            {
                throw new PostgreSqlContactStoreException(
                    $"PostgreSQL {operation} failed: a re-link did not update every contact it was given, so the table was changed outside the store's locking protocol. Nothing was applied.",
                    ex,
                    ex.SqlState);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                var sqlState = (ex as PostgresException)?.SqlState;
                throw new PostgreSqlContactStoreException($"PostgreSQL {operation} failed: {ex.Message}", ex, sqlState);
            }
        }
    }

    private TimeSpan RetryDelay(int attempt)
    {
        var exponential = _retryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 10));
        return TimeSpan.FromMilliseconds(exponential * (0.5 + Random.Shared.NextDouble()));
    }
}
