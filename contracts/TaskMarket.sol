// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title TaskMarket: a market for replicated confidential computation with proof of execution by consensus.
/// @notice Staked nodes register with a capacity and a price. A client creates a task with an escrow; the
///         contract assigns `replication` distinct nodes, chosen pseudo-randomly with weight by stake. Each node
///         commits a seal over its (resultHash, status), then reveals it; the pair revealed by at least `quorum`
///         nodes is the task's result and its proof of execution. Winners are paid, the nodes that dissented or
///         did not deliver are slashed. Ether moves only by the withdraw pattern.
/// @dev Invariant: address(this).balance == totalStakesWei + totalEscrowWei + totalWithdrawableWei.
contract TaskMarket {
    // ------------------------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Most nodes that can be registered at once (bounds the matching loop).
    uint256 public constant MAX_NODES = 256;
    /// @notice Most tasks one node may hold at once.
    uint32 public constant MAX_CAPACITY = type(uint16).max;
    /// @notice Highest price per task a node may ask, in wei (far above any reward a chain can pay).
    uint256 public constant MAX_PRICE_WEI = type(uint96).max;
    /// @notice Most nodes a task can be replicated on (bounds every per-task loop).
    uint8 public constant MAX_REPLICATION = 16;
    /// @notice Highest execution status code (TIMEOUT); 0 is SUCCESS.
    uint8 public constant MAX_STATUS = 6;
    /// @notice Longest commit or reveal window a task may ask for, in seconds.
    uint64 public constant MAX_WINDOW_S = 365 days;
    /// @notice Queued tasks the contract tries to match after a finalize, a registration or added stake.
    uint256 public constant AUTO_MATCH_TASKS = 2;
    /// @notice Most items one createTasks, commitMany or revealMany call may carry (bounds the batch loop).
    uint256 public constant MAX_BATCH = 64;

    uint8 private constant SLASH_DISSENT = 1;
    uint8 private constant SLASH_NO_COMMIT = 2;
    uint8 private constant SLASH_NO_REVEAL = 3;
    uint256 private constant _WEIGHT_SHIFT = 160; // a packed candidate is stake << 160 | address

    // ------------------------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------------------------

    /// @notice A task's state; the commit/reveal phase inside ACTIVE follows from its counts and deadlines.
    enum TaskState {
        NONE,
        PENDING,
        ACTIVE,
        COMPLETED,
        NO_CONSENSUS
    }

    /// @notice A node as seen by `getNode`.
    struct NodeInfo {
        uint256 stakeWei;
        uint256 priceWei;
        uint32 capacity;
        uint32 activeTasks;
        uint64 exitRequestedAt;
        bool registered;
    }

    /// @notice A task as seen by `getTask`; `state` is a TaskState.
    struct TaskInfo {
        address client;
        bytes32 programId;
        bytes32 manifestRef;
        uint8 replication;
        uint8 quorum;
        uint8 state;
        uint256 rewardPerNodeWei;
        uint64 createdAt;
        uint64 matchedAt;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 commitWindowS;
        uint64 revealWindowS;
        uint64 timeLimitS;
        uint8 commitCount;
        uint8 revealCount;
    }

    /// @notice One assigned node's vote on a task, as seen by `getVotes`.
    struct Vote {
        address node;
        bool committed;
        bool revealed;
        bytes32 seal;
        bytes32 resultHash;
        uint8 status;
        bytes32 resultRef;
    }

    /// @notice One task of a createTasks batch: createTask's arguments and the escrow it takes from msg.value.
    struct TaskSpec {
        bytes32 programId;
        bytes32 manifestRef;
        uint8 replication;
        uint8 quorum;
        uint64 commitWindowS;
        uint64 revealWindowS;
        uint64 timeLimitS;
        uint256 escrowWei;
    }

    /// @notice One reveal of a revealMany batch: reveal's arguments.
    struct RevealItem {
        uint256 taskId;
        bytes32 resultHash;
        uint8 status;
        bytes32 salt;
        bytes32 resultRef;
    }

    /// @notice The proof of execution of a COMPLETED task: what ran, what the agreeing nodes revealed, and when.
    struct Proof {
        bytes32 programId;
        bytes32 manifestRef;
        bytes32 resultHash;
        uint8 status;
        bytes32 resultRef;
        address[] agreeing;
        uint256 finalizedBlock;
    }

    /// @dev Slot 0 holds everything matching reads, so a node costs one storage read there; a registered node
    ///      has capacity > 0. Stakes are sums of msg.value and fit in 96 bits (79 billion ether).
    struct Node {
        uint96 stakeWei;
        uint96 priceWei;
        uint16 capacity;
        uint16 activeTasks;
        bool exiting;
        uint64 exitRequestedAt;
    }

    /// @dev Packed into 6 slots; `winnerIndex` points at the first winning ballot once COMPLETED.
    ///      `maxReplication` is the seats the escrow pays for (`replication` for an ordinary task). An adaptive
    ///      task that was extended keeps its earlier ballots closed: `roundStart` is the first ballot of the
    ///      current round, `closedUncommitted` and `closedUnrevealed` count the closed ballots without a commit
    ///      and without a reveal (all three are 0 until an extension).
    struct Task {
        address client;
        uint8 replication;
        uint8 quorum;
        TaskState state;
        uint8 commitCount;
        uint8 revealCount;
        uint8 winnerIndex;
        uint8 maxReplication;
        uint8 roundStart;
        uint8 closedUncommitted;
        uint8 closedUnrevealed;
        uint64 createdAt;
        uint64 matchedAt;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 commitWindowS;
        uint64 revealWindowS;
        uint64 timeLimitS;
        uint64 finalizedBlock;
        uint256 rewardPerNodeWei;
        bytes32 programId;
        bytes32 manifestRef;
    }

    /// @dev Storage form of a Vote: the node and its flags share one slot, written once at matching.
    struct Ballot {
        address node;
        bool committed;
        bool revealed;
        uint8 status;
        bytes32 seal;
        bytes32 resultHash;
        bytes32 resultRef;
    }

    // ------------------------------------------------------------------------------------------------------------
    // State
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Least stake a node must register with, in wei.
    uint256 public immutable minStakeWei;
    /// @notice Stake taken from a node for each dissent, missing commit or missing reveal, in wei.
    uint256 public immutable slashWei;
    /// @notice Seconds between a node's exit request and the moment it may exit.
    uint64 public immutable exitCooldownS;

    /// @notice Sum of all registered nodes' stakes, in wei.
    uint256 public totalStakesWei;
    /// @notice Sum of the escrows of all tasks not yet finalized, in wei.
    uint256 public totalEscrowWei;
    /// @notice Sum of all accounts' withdrawable balances, in wei.
    uint256 public totalWithdrawableWei;

    uint256 private immutable _minEligibleStakeWei;

    mapping(address => Node) private _nodes;
    address[] private _nodeList;
    mapping(address => uint256) private _nodeListSlot; // index in _nodeList plus one

    uint256 private _taskCount;
    mapping(uint256 => Task) private _tasks;
    mapping(uint256 => Ballot[]) private _ballots;

    mapping(uint256 => uint256) private _queue; // position => task id, FIFO between head and tail
    uint128 private _queueHead;
    uint128 private _queueTail;

    mapping(address => uint256) private _withdrawableWei;
    uint256 private _lock = 1;

    // ------------------------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------------------------

    /// @notice A node registered with `stakeWei`, `capacity` task slots and a price per task of `priceWei`.
    event NodeRegistered(address indexed node, uint256 stakeWei, uint32 capacity, uint256 priceWei);
    /// @notice A node added `amountWei` to its stake, which is now `stakeWei`.
    event StakeAdded(address indexed node, uint256 amountWei, uint256 stakeWei);
    /// @notice A node asked to exit; it is no longer matched and may exit from `availableAt` (unix seconds).
    event ExitRequested(address indexed node, uint64 availableAt);
    /// @notice A node left the registry; its whole stake `stakeWei` became withdrawable.
    event NodeExited(address indexed node, uint256 stakeWei);
    /// @notice `account` withdrew `amountWei` of its withdrawable balance.
    event Withdrawn(address indexed account, uint256 amountWei);
    /// @notice A client created a task paying `rewardPerNodeWei` to each of `replication` nodes.
    event TaskCreated(
        uint256 indexed taskId,
        address indexed client,
        bytes32 programId,
        bytes32 manifestRef,
        uint8 replication,
        uint8 quorum,
        uint256 rewardPerNodeWei
    );
    /// @notice The task is adaptive: without a quorum it is extended with extra replicas up to `maxReplication`.
    event TaskAdaptive(uint256 indexed taskId, uint8 maxReplication);
    /// @notice No quorum was reached, so the adaptive task was extended with `added` nodes (NodeAssigned for each);
    ///         the earlier reveals still count, the earlier ballots are closed; commits are due by
    ///         `commitDeadline`, reveals by `revealDeadline`.
    event TaskExtended(uint256 indexed taskId, address[] added, uint64 commitDeadline, uint64 revealDeadline);
    /// @notice Too few eligible nodes were free; the task waits in the queue until capacity frees.
    event TaskQueued(uint256 indexed taskId);
    /// @notice `node` was assigned to the task (one event per assigned node).
    event NodeAssigned(uint256 indexed taskId, address indexed node);
    /// @notice The task was matched to `nodes`; commits are due by `commitDeadline`, reveals by `revealDeadline`.
    event TaskMatched(uint256 indexed taskId, address[] nodes, uint64 commitDeadline, uint64 revealDeadline);
    /// @notice `node` committed `seal` for the task.
    event Committed(uint256 indexed taskId, address indexed node, bytes32 seal);
    /// @notice Every assigned node has committed; the reveal phase is open.
    event AllCommitted(uint256 indexed taskId);
    /// @notice `node` revealed its result hash, status and result reference.
    event Revealed(uint256 indexed taskId, address indexed node, bytes32 resultHash, uint8 status, bytes32 resultRef);
    /// @notice `node` was credited `amountWei` (its reward plus its share of slashed stake).
    event Rewarded(uint256 indexed taskId, address indexed node, uint256 amountWei);
    /// @notice `node` lost `amountWei` of stake; `reason` is 1 DISSENT, 2 NO_COMMIT or 3 NO_REVEAL.
    event Slashed(uint256 indexed taskId, address indexed node, uint256 amountWei, uint8 reason);
    /// @notice `client` was credited `amountWei` of unpaid escrow and slashed stake.
    event Refunded(uint256 indexed taskId, address indexed client, uint256 amountWei);
    /// @notice The task reached consensus on (`resultHash`, `status`); `winners` revealed that pair.
    event TaskCompleted(uint256 indexed taskId, bytes32 resultHash, uint8 status, bytes32 resultRef, address[] winners);
    /// @notice The task ended without consensus; the client was credited `refundWei`.
    event TaskFailed(uint256 indexed taskId, uint256 refundWei);
    /// @notice Item `index` of a batch (for task `taskId`; 0 for a task a createTasks item did not create) was
    ///         skipped, changing nothing: `reason` is the error the single call would have reverted with. A
    ///         skipped createTasks item's escrow is credited to the caller's withdrawable balance.
    event BatchItemSkipped(uint256 indexed taskId, uint256 index, bytes reason);

    // ------------------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------------------

    /// @notice A registration's stake `stakeWei` is below `minStakeWei`.
    error StakeBelowMinimum(uint256 stakeWei, uint256 minStakeWei);
    /// @notice `node` is already registered.
    error AlreadyRegistered(address node);
    /// @notice `node` is not registered.
    error NotRegistered(address node);
    /// @notice A node's `capacity` must be between 1 and `maxCapacity`.
    error InvalidCapacity(uint32 capacity, uint32 maxCapacity);
    /// @notice A node's `priceWei` must be at most `maxPriceWei`.
    error InvalidPrice(uint256 priceWei, uint256 maxPriceWei);
    /// @notice The registry already holds `maxNodes` nodes.
    error TooManyNodes(uint256 maxNodes);
    /// @notice `replication` must be between 1 and MAX_REPLICATION.
    error InvalidReplication(uint8 replication);
    /// @notice `quorum` must be <= `replication` and more than half of it.
    error InvalidQuorum(uint8 quorum, uint8 replication);
    /// @notice The escrow `valueWei` must be positive and divisible by `replication`.
    error InvalidEscrow(uint256 valueWei, uint8 replication);
    /// @notice Windows must be positive and at most MAX_WINDOW_S, and `timeLimitS` at most `commitWindowS`.
    error InvalidWindow(uint64 commitWindowS, uint64 revealWindowS, uint64 timeLimitS);
    /// @notice No task has id `taskId`.
    error UnknownTask(uint256 taskId);
    /// @notice The task is in `state`, where this call is not allowed.
    error WrongState(uint256 taskId, uint8 state);
    /// @notice `caller` is not assigned to the task.
    error NotAssigned(uint256 taskId, address caller);
    /// @notice The task's commit phase ended at `deadline`.
    error CommitClosed(uint256 taskId, uint64 deadline);
    /// @notice `node` already committed to the task.
    error AlreadyCommitted(uint256 taskId, address node);
    /// @notice Reveals open once every node committed or the commit deadline passed.
    error RevealNotOpen(uint256 taskId);
    /// @notice The task's reveal phase ended at `deadline`.
    error RevealClosed(uint256 taskId, uint64 deadline);
    /// @notice `node` did not commit to the task.
    error NotCommitted(uint256 taskId, address node);
    /// @notice `node` already revealed for the task.
    error AlreadyRevealed(uint256 taskId, address node);
    /// @notice The revealed values and `node`'s address do not hash to the seal it committed.
    error BadSeal(uint256 taskId, address node);
    /// @notice `statusCode` is not an execution status code (0..MAX_STATUS).
    error InvalidStatus(uint8 statusCode);
    /// @notice The task cannot be finalized yet; at the latest it can after `revealDeadline`.
    error FinalizeTooEarly(uint256 taskId, uint64 revealDeadline);
    /// @notice The task has no proof: it is not COMPLETED.
    error NotFinalized(uint256 taskId);
    /// @notice `node` has not requested to exit.
    error ExitNotRequested(address node);
    /// @notice `node` already requested to exit; it may exit from `availableAt`.
    error ExitAlreadyRequested(address node, uint64 availableAt);
    /// @notice `node` may exit only from `availableAt`.
    error CooldownNotOver(address node, uint64 availableAt);
    /// @notice `node` still holds `activeTasks` tasks.
    error NodeBusy(address node, uint32 activeTasks);
    /// @notice `requested` wei exceeds the caller's withdrawable balance `available`.
    error InsufficientBalance(uint256 requested, uint256 available);
    /// @notice Sending `amountWei` to `account` failed.
    error TransferFailed(address account, uint256 amountWei);
    /// @notice The call re-entered a function guarded against reentrancy.
    error ReentrantCall();
    /// @notice A batch must carry 1..`maxLength` items, and its arrays the same number (`length` is the first's).
    error InvalidBatch(uint256 length, uint256 maxLength);
    /// @notice The escrows of a createTasks batch sum to `totalWei`, not the `valueWei` sent.
    error BatchEscrowMismatch(uint256 totalWei, uint256 valueWei);
    /// @notice An adaptive task's `maxReplication` must be between its `replication` and MAX_REPLICATION.
    error InvalidMaxReplication(uint8 maxReplication, uint8 replication);
    /// @notice `node`'s seat belongs to a round of the extended task that has closed: it can no longer vote.
    error BallotClosed(uint256 taskId, address node);

    modifier nonReentrant() {
        if (_lock != 1) revert ReentrantCall();
        _lock = 2;
        _;
        _lock = 1;
    }

    /// @notice Deploys a market.
    /// @param minStakeWei_ least stake a node registers with
    /// @param slashWei_ stake taken per dissent or missing commit or reveal (capped at the node's stake)
    /// @param exitCooldownS_ seconds between an exit request and the exit
    constructor(uint256 minStakeWei_, uint256 slashWei_, uint64 exitCooldownS_) {
        minStakeWei = minStakeWei_;
        slashWei = slashWei_;
        exitCooldownS = exitCooldownS_;
        uint256 eligible = minStakeWei_ > slashWei_ ? minStakeWei_ : slashWei_;
        _minEligibleStakeWei = eligible > 0 ? eligible : 1;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Node registry
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Registers the caller as a compute node staking msg.value; then tries to match queued tasks.
    /// @param capacity how many tasks the node runs at once (1..MAX_CAPACITY)
    /// @param priceWei least reward per task the node accepts (at most MAX_PRICE_WEI)
    function register(uint32 capacity, uint256 priceWei) external payable {
        if (_nodes[msg.sender].capacity != 0) revert AlreadyRegistered(msg.sender);
        if (capacity == 0 || capacity > MAX_CAPACITY) revert InvalidCapacity(capacity, MAX_CAPACITY);
        if (priceWei > MAX_PRICE_WEI) revert InvalidPrice(priceWei, MAX_PRICE_WEI);
        if (msg.value < minStakeWei) revert StakeBelowMinimum(msg.value, minStakeWei);
        if (_nodeList.length >= MAX_NODES) revert TooManyNodes(MAX_NODES);
        _nodes[msg.sender] = Node({
            stakeWei: _toUint96(msg.value),
            priceWei: uint96(priceWei),
            capacity: uint16(capacity),
            activeTasks: 0,
            exiting: false,
            exitRequestedAt: 0
        });
        _nodeList.push(msg.sender);
        _nodeListSlot[msg.sender] = _nodeList.length;
        totalStakesWei += msg.value;
        emit NodeRegistered(msg.sender, msg.value, capacity, priceWei);
        _matchQueued(AUTO_MATCH_TASKS);
    }

    /// @notice Adds msg.value to the caller's stake; then tries to match queued tasks.
    function addStake() external payable {
        Node storage node = _registeredNode(msg.sender);
        uint256 stakeWei = uint256(node.stakeWei) + msg.value;
        node.stakeWei = _toUint96(stakeWei);
        totalStakesWei += msg.value;
        emit StakeAdded(msg.sender, msg.value, stakeWei);
        _matchQueued(AUTO_MATCH_TASKS);
    }

    /// @notice Stops the caller from being matched and starts its exit cooldown.
    function requestExit() external {
        Node storage node = _registeredNode(msg.sender);
        if (node.exiting) {
            revert ExitAlreadyRequested(msg.sender, node.exitRequestedAt + exitCooldownS);
        }
        node.exiting = true;
        node.exitRequestedAt = uint64(block.timestamp);
        emit ExitRequested(msg.sender, uint64(block.timestamp) + exitCooldownS);
    }

    /// @notice Deregisters the caller after its cooldown, once it holds no task; its stake becomes withdrawable.
    function exit() external {
        Node storage node = _registeredNode(msg.sender);
        if (!node.exiting) revert ExitNotRequested(msg.sender);
        uint64 availableAt = node.exitRequestedAt + exitCooldownS;
        if (block.timestamp < availableAt) revert CooldownNotOver(msg.sender, availableAt);
        if (node.activeTasks != 0) revert NodeBusy(msg.sender, node.activeTasks);
        uint256 stakeWei = node.stakeWei;
        delete _nodes[msg.sender];
        _removeFromNodeList(msg.sender);
        totalStakesWei -= stakeWei;
        _withdrawableWei[msg.sender] += stakeWei;
        totalWithdrawableWei += stakeWei;
        emit NodeExited(msg.sender, stakeWei);
    }

    /// @notice Sends `amountWei` of the caller's withdrawable balance (rewards, refunds, exited stake) to it.
    /// @param amountWei how much to withdraw; at most `withdrawable(msg.sender)`
    function withdraw(uint256 amountWei) external nonReentrant {
        uint256 available = _withdrawableWei[msg.sender];
        if (amountWei > available) revert InsufficientBalance(amountWei, available);
        _withdrawableWei[msg.sender] = available - amountWei;
        totalWithdrawableWei -= amountWei;
        (bool sent, ) = msg.sender.call{value: amountWei}("");
        if (!sent) revert TransferFailed(msg.sender, amountWei);
        emit Withdrawn(msg.sender, amountWei);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Tasks
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Creates a task escrowing msg.value and matches it to `replication` nodes, or queues it.
    /// @param programId keccak256 of the program's "name@version"
    /// @param manifestRef reference to the task's input manifest in storage
    /// @param replication how many distinct nodes run the task (1..MAX_REPLICATION)
    /// @param quorum how many equal reveals make consensus (more than half of replication, at most all)
    /// @param commitWindowS seconds from matching until commits close
    /// @param revealWindowS seconds from the commit deadline until reveals close
    /// @param timeLimitS seconds a node may run the program (at most commitWindowS)
    /// @return taskId the new task's id (ids start at 1)
    function createTask(
        bytes32 programId,
        bytes32 manifestRef,
        uint8 replication,
        uint8 quorum,
        uint64 commitWindowS,
        uint64 revealWindowS,
        uint64 timeLimitS
    ) external payable returns (uint256 taskId) {
        TaskSpec memory spec = TaskSpec(
            programId, manifestRef, replication, quorum, commitWindowS, revealWindowS, timeLimitS, msg.value
        );
        bytes memory reason = _specError(spec, replication);
        if (reason.length != 0) _revertWith(reason);
        return _createTask(spec, replication);
    }

    /// @notice Creates an adaptive task escrowing msg.value: matched to `spec.replication` nodes (r_min) like
    ///         createTask's; while no (resultHash, status) pair reaches the quorum, the settlement is replaced by
    ///         extra replicas (at most `maxReplication` in all, drawn like the first ones), the reveals so far
    ///         still counting. The escrow pays every seat (msg.value = maxReplication x reward; spec.escrowWei
    ///         is ignored); seats never used are refunded to the client when the task settles.
    /// @return taskId the new task's id
    function createAdaptiveTask(TaskSpec memory spec, uint8 maxReplication)
        external
        payable
        returns (uint256 taskId)
    {
        if (maxReplication < spec.replication || maxReplication > MAX_REPLICATION) {
            revert InvalidMaxReplication(maxReplication, spec.replication);
        }
        spec.escrowWei = msg.value;
        bytes memory reason = _specError(spec, maxReplication);
        if (reason.length != 0) _revertWith(reason);
        return _createTask(spec, maxReplication);
    }

    /// @notice Creates one task per spec in one transaction, each escrowing its `escrowWei` (they sum to
    ///         msg.value). A spec createTask would refuse is skipped (BatchItemSkipped, its escrow credited to
    ///         the caller's withdrawable balance); the others are created in order.
    /// @return taskIds each spec's new task id, 0 for a skipped spec
    function createTasks(TaskSpec[] calldata specs) external payable returns (uint256[] memory taskIds) {
        uint256 count = specs.length;
        if (count == 0 || count > MAX_BATCH) revert InvalidBatch(count, MAX_BATCH);
        uint256 totalWei;
        for (uint256 i; i < count; ++i) {
            totalWei += specs[i].escrowWei;
        }
        if (totalWei != msg.value) revert BatchEscrowMismatch(totalWei, msg.value);
        taskIds = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            TaskSpec memory spec = specs[i];
            bytes memory reason = _specError(spec, spec.replication);
            if (reason.length == 0) {
                taskIds[i] = _createTask(spec, spec.replication);
            } else {
                _withdrawableWei[msg.sender] += spec.escrowWei;
                totalWithdrawableWei += spec.escrowWei;
                emit BatchItemSkipped(0, i, reason);
            }
        }
    }

    /// @notice Tries to match up to `maxTasks` queued tasks in FIFO order, stopping at the first that cannot match.
    /// @return matched how many tasks were matched
    function matchPending(uint256 maxTasks) external returns (uint256 matched) {
        return _matchQueued(maxTasks);
    }

    /// @notice Commits the caller's seal for an ACTIVE task it is assigned to, before the commit deadline.
    /// @param seal computeSeal(taskId, resultHash, status, msg.sender, salt)
    function commit(uint256 taskId, bytes32 seal) external {
        Task storage task = _activeTask(taskId);
        Ballot storage ballot = _openBallotOf(taskId, task, msg.sender);
        if (block.timestamp > task.commitDeadline) revert CommitClosed(taskId, task.commitDeadline);
        if (ballot.committed) revert AlreadyCommitted(taskId, msg.sender);
        ballot.committed = true;
        ballot.seal = seal;
        uint8 commitCount = task.commitCount + 1;
        task.commitCount = commitCount;
        emit Committed(taskId, msg.sender, seal);
        if (commitCount + task.closedUncommitted == task.replication) emit AllCommitted(taskId);
    }

    /// @notice Reveals the values behind the caller's seal; the last of all reveals finalizes the task (or, for
    ///         an adaptive task without a quorum and with seats left, extends it).
    /// @dev Open once every node committed or the commit deadline passed, until the reveal deadline.
    /// @param resultHash keccak256 of the canonical result bytes
    /// @param status execution status code (0..MAX_STATUS)
    /// @param salt the secret the seal was made with
    /// @param resultRef reference to the result blob in storage
    function reveal(uint256 taskId, bytes32 resultHash, uint8 status, bytes32 salt, bytes32 resultRef) external {
        Task storage task = _activeTask(taskId);
        if (status > MAX_STATUS) revert InvalidStatus(status);
        Ballot storage ballot = _openBallotOf(taskId, task, msg.sender);
        if (task.commitCount + task.closedUncommitted < task.replication && block.timestamp <= task.commitDeadline) {
            revert RevealNotOpen(taskId);
        }
        if (block.timestamp > task.revealDeadline) revert RevealClosed(taskId, task.revealDeadline);
        if (!ballot.committed) revert NotCommitted(taskId, msg.sender);
        if (ballot.revealed) revert AlreadyRevealed(taskId, msg.sender);
        if (computeSeal(taskId, resultHash, status, msg.sender, salt) != ballot.seal) {
            revert BadSeal(taskId, msg.sender);
        }
        ballot.revealed = true;
        ballot.status = status;
        ballot.resultHash = resultHash;
        ballot.resultRef = resultRef;
        uint8 revealCount = task.revealCount + 1;
        task.revealCount = revealCount;
        emit Revealed(taskId, msg.sender, resultHash, status, resultRef);
        if (revealCount + task.closedUnrevealed == task.replication) _finalize(taskId, task);
    }

    /// @notice Commits several seals in one transaction, as `commit` would one by one. An item `commit` would
    ///         refuse is skipped (BatchItemSkipped with its error); the others take effect.
    /// @return committed how many items took effect
    function commitMany(uint256[] calldata taskIds, bytes32[] calldata seals) external returns (uint256 committed) {
        uint256 count = taskIds.length;
        if (count == 0 || count > MAX_BATCH || seals.length != count) revert InvalidBatch(count, MAX_BATCH);
        for (uint256 i; i < count; ++i) {
            if (_selfCall(abi.encodeCall(this.commit, (taskIds[i], seals[i])), taskIds[i], i)) ++committed;
        }
    }

    /// @notice Reveals several seals in one transaction, as `reveal` would one by one (a task's last reveal
    ///         finalizes it). An item `reveal` would refuse is skipped (BatchItemSkipped with its error).
    /// @return revealed how many items took effect
    function revealMany(RevealItem[] calldata items) external returns (uint256 revealed) {
        uint256 count = items.length;
        if (count == 0 || count > MAX_BATCH) revert InvalidBatch(count, MAX_BATCH);
        for (uint256 i; i < count; ++i) {
            RevealItem calldata item = items[i];
            bytes memory call = abi.encodeCall(
                this.reveal, (item.taskId, item.resultHash, item.status, item.salt, item.resultRef)
            );
            if (_selfCall(call, item.taskId, i)) ++revealed;
        }
    }

    /// @notice Settles an ACTIVE task: pays the winners or refunds the client, slashes, frees the nodes (an
    ///         adaptive task without a quorum and with seats left is extended instead).
    /// @dev Allowed when every node revealed, or after the commit deadline once every commit was revealed, or
    ///      after the reveal deadline.
    function finalize(uint256 taskId) external {
        Task storage task = _activeTask(taskId);
        uint256 revealed = uint256(task.revealCount) + task.closedUnrevealed;
        bool allRevealed = revealed == task.replication;
        bool commitsRevealed =
            block.timestamp > task.commitDeadline && revealed == uint256(task.commitCount) + task.closedUncommitted;
        if (!allRevealed && !commitsRevealed && block.timestamp <= task.revealDeadline) {
            revert FinalizeTooEarly(taskId, task.revealDeadline);
        }
        _finalize(taskId, task);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Ether the contract owes: stakes plus escrows plus withdrawable balances (equals its balance).
    function liabilitiesWei() external view returns (uint256) {
        return totalStakesWei + totalEscrowWei + totalWithdrawableWei;
    }

    /// @notice Wei `account` can withdraw now.
    function withdrawable(address account) external view returns (uint256) {
        return _withdrawableWei[account];
    }

    /// @notice How many tasks were ever created (the highest task id).
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @notice How many nodes are registered.
    function nodeCount() external view returns (uint256) {
        return _nodeList.length;
    }

    /// @notice The registered node at index `i` (0 <= i < nodeCount(); order changes when nodes exit).
    function nodeAt(uint256 i) external view returns (address) {
        return _nodeList[i];
    }

    /// @notice How many tasks wait in the matching queue.
    function pendingCount() external view returns (uint256) {
        return _queueTail - _queueHead;
    }

    /// @notice A node's registration; all zero with registered == false for an unknown address.
    function getNode(address account) external view returns (NodeInfo memory info) {
        Node storage node = _nodes[account];
        info.stakeWei = node.stakeWei;
        info.priceWei = node.priceWei;
        info.capacity = node.capacity;
        info.activeTasks = node.activeTasks;
        info.exitRequestedAt = node.exitRequestedAt;
        info.registered = node.capacity != 0;
    }

    /// @notice A task's parameters, state and counts; reverts UnknownTask for an unknown id.
    function getTask(uint256 taskId) external view returns (TaskInfo memory info) {
        Task storage task = _knownTask(taskId);
        info.client = task.client;
        info.programId = task.programId;
        info.manifestRef = task.manifestRef;
        info.replication = task.replication;
        info.quorum = task.quorum;
        info.state = uint8(task.state);
        info.rewardPerNodeWei = task.rewardPerNodeWei;
        info.createdAt = task.createdAt;
        info.matchedAt = task.matchedAt;
        info.commitDeadline = task.commitDeadline;
        info.revealDeadline = task.revealDeadline;
        info.commitWindowS = task.commitWindowS;
        info.revealWindowS = task.revealWindowS;
        info.timeLimitS = task.timeLimitS;
        info.commitCount = task.commitCount;
        info.revealCount = task.revealCount;
    }

    /// @notice A task's adaptive terms: the seats its escrow pays for (its replication for an ordinary task), the
    ///         first ballot of its current round, and the closed ballots without a commit and without a reveal.
    function getRound(uint256 taskId)
        external
        view
        returns (uint8 maxReplication, uint8 roundStart, uint8 closedUncommitted, uint8 closedUnrevealed)
    {
        Task storage task = _knownTask(taskId);
        return (task.maxReplication, task.roundStart, task.closedUncommitted, task.closedUnrevealed);
    }

    /// @notice The nodes assigned to a task, in assignment order (empty while PENDING).
    function getAssignment(uint256 taskId) external view returns (address[] memory nodes) {
        _knownTask(taskId);
        Ballot[] storage ballots = _ballots[taskId];
        nodes = new address[](ballots.length);
        for (uint256 i; i < ballots.length; ++i) {
            nodes[i] = ballots[i].node;
        }
    }

    /// @notice Every assigned node's vote on a task, in assignment order.
    function getVotes(uint256 taskId) external view returns (Vote[] memory votes) {
        _knownTask(taskId);
        Ballot[] storage ballots = _ballots[taskId];
        votes = new Vote[](ballots.length);
        for (uint256 i; i < ballots.length; ++i) {
            Ballot storage ballot = ballots[i];
            votes[i] = Vote({
                node: ballot.node,
                committed: ballot.committed,
                revealed: ballot.revealed,
                seal: ballot.seal,
                resultHash: ballot.resultHash,
                status: ballot.status,
                resultRef: ballot.resultRef
            });
        }
    }

    /// @notice The proof of execution of a COMPLETED task; reverts NotFinalized otherwise.
    /// @dev `resultRef` is the first agreeing node's; `agreeing` lists the nodes that revealed the winning pair.
    function getProof(uint256 taskId) external view returns (Proof memory proof) {
        Task storage task = _knownTask(taskId);
        if (task.state != TaskState.COMPLETED) revert NotFinalized(taskId);
        Ballot[] storage ballots = _ballots[taskId];
        Ballot storage winner = ballots[task.winnerIndex];
        proof.programId = task.programId;
        proof.manifestRef = task.manifestRef;
        proof.resultHash = winner.resultHash;
        proof.status = winner.status;
        proof.resultRef = winner.resultRef;
        proof.finalizedBlock = task.finalizedBlock;
        address[] memory agreeing = new address[](ballots.length);
        uint256 count;
        for (uint256 i = task.winnerIndex; i < ballots.length; ++i) {
            Ballot storage ballot = ballots[i];
            if (ballot.revealed && ballot.resultHash == winner.resultHash && ballot.status == winner.status) {
                agreeing[count++] = ballot.node;
            }
        }
        assembly ("memory-safe") {
            mstore(agreeing, count)
        }
        proof.agreeing = agreeing;
    }

    /// @notice The seal a node commits: keccak256(abi.encode(taskId, resultHash, status, node, salt)).
    function computeSeal(uint256 taskId, bytes32 resultHash, uint8 status, address node, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, resultHash, status, node, salt));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Matching
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Matches queued tasks from the head, at most `maxTasks`, stopping at the first that cannot match.
    function _matchQueued(uint256 maxTasks) private returns (uint256 matched) {
        uint256 head = _queueHead;
        uint256 tail = _queueTail;
        while (matched < maxTasks && head < tail) {
            uint256 taskId = _queue[head];
            if (!_tryMatch(taskId, _tasks[taskId])) break;
            delete _queue[head];
            ++head;
            ++matched;
        }
        if (matched != 0) _queueHead = uint128(head);
    }

    /// @dev Assigns `replication` distinct eligible nodes, drawn with weight by stake, or returns false.
    ///      The draw is pseudo-random (prevrandao, task id, draw index): reproducible on a devnet, and open to
    ///      bias by a block proposer on a real chain.
    function _tryMatch(uint256 taskId, Task storage task) private returns (bool) {
        uint256 replication = task.replication;
        (uint256[] memory candidates, uint256 count, uint256 totalWeight) = _eligibleNodes(task.rewardPerNodeWei);
        if (count < replication) return false;

        address[] memory chosen = _draw(taskId, candidates, count, totalWeight, 0, replication);
        _assign(taskId, chosen);
        (uint64 commitDeadline, uint64 revealDeadline) = _openRound(task);
        task.state = TaskState.ACTIVE;
        task.matchedAt = uint64(block.timestamp);
        emit TaskMatched(taskId, chosen, commitDeadline, revealDeadline);
        return true;
    }

    /// @dev Draws `draws` distinct candidates with weight by stake, draw indexes `firstDraw`, `firstDraw + 1`, ...
    ///      (so an extension's draws continue the first match's). `count` candidates lead the array.
    function _draw(
        uint256 taskId,
        uint256[] memory candidates,
        uint256 count,
        uint256 totalWeight,
        uint256 firstDraw,
        uint256 draws
    ) private view returns (address[] memory chosen) {
        chosen = new address[](draws);
        for (uint256 k; k < draws; ++k) {
            // Walk the cumulative stakes to the drawn point, take that node, then swap the last candidate into
            // its place so every draw is among the nodes not yet chosen.
            uint256 draw = uint256(keccak256(abi.encode(block.prevrandao, taskId, firstDraw + k))) % totalWeight;
            uint256 j;
            uint256 weight = candidates[0] >> _WEIGHT_SHIFT;
            while (draw >= weight) {
                unchecked {
                    draw -= weight;
                    ++j;
                }
                weight = candidates[j] >> _WEIGHT_SHIFT;
            }
            chosen[k] = address(uint160(candidates[j]));
            unchecked {
                totalWeight -= weight;
                --count;
            }
            candidates[j] = candidates[count];
        }
    }

    /// @dev Seats `chosen` on the task: a ballot each, a busy slot each, NodeAssigned for each.
    function _assign(uint256 taskId, address[] memory chosen) private {
        Ballot[] storage ballots = _ballots[taskId];
        for (uint256 k; k < chosen.length; ++k) {
            ballots.push().node = chosen[k];
            _nodes[chosen[k]].activeTasks += 1;
            emit NodeAssigned(taskId, chosen[k]);
        }
    }

    /// @dev Opens fresh commit and reveal windows from now.
    function _openRound(Task storage task) private returns (uint64 commitDeadline, uint64 revealDeadline) {
        commitDeadline = uint64(block.timestamp) + task.commitWindowS;
        revealDeadline = commitDeadline + task.revealWindowS;
        task.commitDeadline = commitDeadline;
        task.revealDeadline = revealDeadline;
    }

    /// @dev Extends an adaptive task that has no quorum: draws quorum - `bestCount` more nodes (at most the seats
    ///      left and the eligible nodes not on the task), closes the earlier ballots and opens a new round.
    ///      Returns false, changing nothing, when no eligible node is left.
    function _extend(uint256 taskId, Task storage task, uint256 bestCount) private returns (bool) {
        Ballot[] storage ballots = _ballots[taskId];
        uint256 assigned = ballots.length;
        (uint256[] memory candidates, uint256 count, uint256 totalWeight) = _eligibleNodes(task.rewardPerNodeWei);
        (count, totalWeight) = _withoutAssigned(ballots, candidates, count, totalWeight);
        if (count == 0) return false;
        uint256 need = task.quorum - bestCount;
        uint256 seats = task.maxReplication - assigned;
        if (need > seats) need = seats;
        if (need > count) need = count;

        uint8 uncommitted;
        uint8 unrevealed;
        for (uint256 i; i < assigned; ++i) {
            Ballot storage ballot = ballots[i];
            if (!ballot.committed) ++uncommitted;
            if (!ballot.revealed) ++unrevealed;
        }
        address[] memory added = _draw(taskId, candidates, count, totalWeight, assigned, need);
        _assign(taskId, added);
        task.replication = uint8(assigned + need);
        task.roundStart = uint8(assigned);
        task.closedUncommitted = uncommitted;
        task.closedUnrevealed = unrevealed;
        (uint64 commitDeadline, uint64 revealDeadline) = _openRound(task);
        emit TaskExtended(taskId, added, commitDeadline, revealDeadline);
        return true;
    }

    /// @dev Removes the nodes already seated on the task from the `count` leading candidates (swapping the last
    ///      one in), returning the candidates left and their weight.
    function _withoutAssigned(Ballot[] storage ballots, uint256[] memory candidates, uint256 count, uint256 totalWeight)
        private
        view
        returns (uint256, uint256)
    {
        uint256 assigned = ballots.length;
        address[] memory seated = new address[](assigned);
        for (uint256 i; i < assigned; ++i) {
            seated[i] = ballots[i].node;
        }
        for (uint256 j; j < count; ) {
            address candidate = address(uint160(candidates[j]));
            bool taken;
            for (uint256 i; i < assigned; ++i) {
                if (seated[i] == candidate) {
                    taken = true;
                    break;
                }
            }
            if (taken) {
                totalWeight -= candidates[j] >> _WEIGHT_SHIFT;
                --count;
                candidates[j] = candidates[count];
            } else {
                ++j;
            }
        }
        return (count, totalWeight);
    }

    /// @dev Nodes that may take a task paying `rewardWei`: registered, not exiting, staked at least the minimum
    ///      and the slash, with a free slot, asking at most `rewardWei`. Each candidate is one word, its stake
    ///      (the draw weight, < 2^96) above its address; `totalWeight` is the sum of their stakes.
    function _eligibleNodes(uint256 rewardWei)
        private
        view
        returns (uint256[] memory candidates, uint256 count, uint256 totalWeight)
    {
        address[] memory accounts = _nodeList;
        uint256 minEligibleStakeWei = _minEligibleStakeWei;
        candidates = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ) {
            Node storage node = _nodes[accounts[i]];
            (uint256 stakeWei, uint256 priceWei, uint256 capacity, uint256 activeTasks, bool exiting) =
                (node.stakeWei, node.priceWei, node.capacity, node.activeTasks, node.exiting);
            if (stakeWei >= minEligibleStakeWei && !exiting && activeTasks < capacity && priceWei <= rewardWei) {
                candidates[count] = (stakeWei << _WEIGHT_SHIFT) | uint160(accounts[i]);
                unchecked {
                    totalWeight += stakeWei; // at most MAX_NODES stakes of < 2^96 each
                    ++count;
                }
            }
            unchecked {
                ++i;
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Settlement
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Tallies the reveals, settles payments and slashes, frees the nodes, then matches queued tasks. An
    ///      adaptive task without a quorum and with seats left is extended instead, if an eligible node is left.
    function _finalize(uint256 taskId, Task storage task) private {
        Ballot[] storage ballots = _ballots[taskId];
        (uint256 winnerIndex, uint256 winnerCount) = _tally(ballots);
        bool consensus = winnerCount >= task.quorum;
        if (!consensus && ballots.length < task.maxReplication && _extend(taskId, task, winnerCount)) return;
        task.finalizedBlock = uint64(block.number);
        if (consensus) {
            task.state = TaskState.COMPLETED;
            task.winnerIndex = uint8(winnerIndex);
            _settleConsensus(taskId, task, ballots, winnerIndex, winnerCount);
        } else {
            task.state = TaskState.NO_CONSENSUS;
            _settleNoConsensus(taskId, task, ballots);
        }
        _matchQueued(AUTO_MATCH_TASKS);
    }

    /// @dev The first revealed ballot of the most revealed (resultHash, status) pair, and that pair's count.
    function _tally(Ballot[] storage ballots) private view returns (uint256 bestIndex, uint256 bestCount) {
        uint256 replication = ballots.length;
        bool[] memory revealed = new bool[](replication);
        bytes32[] memory hashes = new bytes32[](replication);
        uint8[] memory statuses = new uint8[](replication);
        for (uint256 i; i < replication; ++i) {
            Ballot storage ballot = ballots[i];
            if (!ballot.revealed) continue;
            revealed[i] = true;
            hashes[i] = ballot.resultHash;
            statuses[i] = ballot.status;
        }
        for (uint256 i; i < replication; ++i) {
            if (!revealed[i]) continue;
            uint256 count;
            for (uint256 j = i; j < replication; ++j) {
                if (revealed[j] && hashes[j] == hashes[i] && statuses[j] == statuses[i]) ++count;
            }
            if (count > bestCount) {
                bestCount = count;
                bestIndex = i;
            }
        }
    }

    /// @dev Pays each winner its reward plus an equal share of the slashed stake; slashes every other node for
    ///      dissent or non-delivery; the client gets the unpaid escrow (unused seats included) and the share
    ///      remainder.
    function _settleConsensus(
        uint256 taskId,
        Task storage task,
        Ballot[] storage ballots,
        uint256 winnerIndex,
        uint256 winnerCount
    ) private {
        bytes32 resultHash = ballots[winnerIndex].resultHash;
        uint8 status = ballots[winnerIndex].status;
        address[] memory winners = new address[](winnerCount);
        uint256 found;
        uint256 slashedWei;
        for (uint256 i; i < ballots.length; ++i) {
            Ballot storage ballot = ballots[i];
            Node storage node = _nodes[ballot.node];
            node.activeTasks -= 1;
            if (ballot.revealed && ballot.resultHash == resultHash && ballot.status == status) {
                winners[found++] = ballot.node;
            } else {
                slashedWei += _slash(taskId, ballot, node, _slashReason(ballot));
            }
        }

        uint256 rewardWei = task.rewardPerNodeWei;
        uint256 bonusWei = slashedWei / winnerCount;
        for (uint256 i; i < winnerCount; ++i) {
            _withdrawableWei[winners[i]] += rewardWei + bonusWei;
            emit Rewarded(taskId, winners[i], rewardWei + bonusWei);
        }
        uint256 escrowWei = rewardWei * task.maxReplication;
        uint256 refundWei = escrowWei - rewardWei * winnerCount + (slashedWei - bonusWei * winnerCount);
        _release(escrowWei, slashedWei);
        if (refundWei != 0) {
            _withdrawableWei[task.client] += refundWei;
            emit Refunded(taskId, task.client, refundWei);
        }
        emit TaskCompleted(taskId, resultHash, status, ballots[winnerIndex].resultRef, winners);
    }

    /// @dev Refunds the whole escrow plus the stake slashed from nodes that did not commit or reveal; dissenters
    ///      keep their stake since nobody can tell who is right.
    function _settleNoConsensus(uint256 taskId, Task storage task, Ballot[] storage ballots) private {
        uint256 slashedWei;
        for (uint256 i; i < ballots.length; ++i) {
            Ballot storage ballot = ballots[i];
            Node storage node = _nodes[ballot.node];
            node.activeTasks -= 1;
            if (!ballot.revealed) slashedWei += _slash(taskId, ballot, node, _slashReason(ballot));
        }
        uint256 escrowWei = task.rewardPerNodeWei * task.maxReplication;
        uint256 refundWei = escrowWei + slashedWei;
        _release(escrowWei, slashedWei);
        _withdrawableWei[task.client] += refundWei;
        emit Refunded(taskId, task.client, refundWei);
        emit TaskFailed(taskId, refundWei);
    }

    /// @dev Takes min(slashWei, stake) from `node` and returns it; the caller moves it out of totalStakesWei.
    function _slash(uint256 taskId, Ballot storage ballot, Node storage node, uint8 reason)
        private
        returns (uint256 amountWei)
    {
        uint256 stakeWei = node.stakeWei;
        amountWei = slashWei < stakeWei ? slashWei : stakeWei;
        node.stakeWei = uint96(stakeWei - amountWei);
        emit Slashed(taskId, ballot.node, amountWei, reason);
    }

    /// @dev Why a non-winning ballot is slashed.
    function _slashReason(Ballot storage ballot) private view returns (uint8) {
        if (!ballot.committed) return SLASH_NO_COMMIT;
        if (!ballot.revealed) return SLASH_NO_REVEAL;
        return SLASH_DISSENT;
    }

    /// @dev Moves a settled task's escrow and the stake slashed on it into withdrawable balances (totals only).
    function _release(uint256 escrowWei, uint256 slashedWei) private {
        totalEscrowWei -= escrowWei;
        totalStakesWei -= slashedWei;
        totalWithdrawableWei += escrowWei + slashedWei;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Lookups
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The error createTask reverts with for `spec` escrowing `seats` rewards, ABI-encoded; empty when the
    ///      spec is valid.
    function _specError(TaskSpec memory spec, uint8 seats) private pure returns (bytes memory) {
        uint8 replication = spec.replication;
        if (replication == 0 || replication > MAX_REPLICATION) {
            return abi.encodeWithSelector(InvalidReplication.selector, replication);
        }
        if (spec.quorum > replication || 2 * uint256(spec.quorum) <= replication) {
            return abi.encodeWithSelector(InvalidQuorum.selector, spec.quorum, replication);
        }
        if (spec.escrowWei == 0 || spec.escrowWei % seats != 0) {
            return abi.encodeWithSelector(InvalidEscrow.selector, spec.escrowWei, seats);
        }
        (uint64 commitWindowS, uint64 revealWindowS, uint64 timeLimitS) =
            (spec.commitWindowS, spec.revealWindowS, spec.timeLimitS);
        if (
            commitWindowS == 0 || revealWindowS == 0 || timeLimitS == 0 || timeLimitS > commitWindowS
                || commitWindowS > MAX_WINDOW_S || revealWindowS > MAX_WINDOW_S
        ) return abi.encodeWithSelector(InvalidWindow.selector, commitWindowS, revealWindowS, timeLimitS);
        return "";
    }

    /// @dev Records a valid task escrowing `spec.escrowWei` from the caller for `seats` replicas (its replication,
    ///      or an adaptive task's maximum), then matches or queues it.
    function _createTask(TaskSpec memory spec, uint8 seats) private returns (uint256 taskId) {
        taskId = ++_taskCount;
        Task storage task = _tasks[taskId];
        uint256 rewardPerNodeWei = spec.escrowWei / seats;
        task.client = msg.sender;
        task.replication = spec.replication;
        task.maxReplication = seats;
        task.quorum = spec.quorum;
        task.createdAt = uint64(block.timestamp);
        task.commitWindowS = spec.commitWindowS;
        task.revealWindowS = spec.revealWindowS;
        task.timeLimitS = spec.timeLimitS;
        task.rewardPerNodeWei = rewardPerNodeWei;
        task.programId = spec.programId;
        task.manifestRef = spec.manifestRef;
        totalEscrowWei += spec.escrowWei;
        emit TaskCreated(
            taskId, msg.sender, spec.programId, spec.manifestRef, spec.replication, spec.quorum, rewardPerNodeWei
        );
        if (seats != spec.replication) emit TaskAdaptive(taskId, seats);

        if (!_tryMatch(taskId, task)) {
            task.state = TaskState.PENDING;
            _queue[_queueTail++] = taskId;
            emit TaskQueued(taskId);
        }
    }

    /// @dev Runs one batch item as the single call it encodes, in this contract's context with the caller as
    ///      msg.sender (a delegatecall to this contract's own code, of `commit` or `reveal` only, which take no
    ///      ether). A revert undoes that item alone and is reported as BatchItemSkipped; returns whether it ran.
    function _selfCall(bytes memory call, uint256 taskId, uint256 index) private returns (bool ok) {
        bytes memory reason;
        (ok, reason) = address(this).delegatecall(call);
        if (!ok) emit BatchItemSkipped(taskId, index, reason);
    }

    /// @dev Reverts with `reason`, an ABI-encoded error.
    function _revertWith(bytes memory reason) private pure {
        assembly ("memory-safe") {
            revert(add(reason, 32), mload(reason))
        }
    }

    function _knownTask(uint256 taskId) private view returns (Task storage task) {
        if (taskId == 0 || taskId > _taskCount) revert UnknownTask(taskId);
        return _tasks[taskId];
    }

    function _activeTask(uint256 taskId) private view returns (Task storage task) {
        task = _knownTask(taskId);
        if (task.state != TaskState.ACTIVE) revert WrongState(taskId, uint8(task.state));
    }

    /// @dev `account`'s ballot on the task, which must be in the current round (an extension closes the earlier).
    function _openBallotOf(uint256 taskId, Task storage task, address account) private view returns (Ballot storage) {
        Ballot[] storage ballots = _ballots[taskId];
        for (uint256 i; i < ballots.length; ++i) {
            if (ballots[i].node == account) {
                if (i < task.roundStart) revert BallotClosed(taskId, account);
                return ballots[i];
            }
        }
        revert NotAssigned(taskId, account);
    }

    function _registeredNode(address account) private view returns (Node storage node) {
        node = _nodes[account];
        if (node.capacity == 0) revert NotRegistered(account);
    }

    function _removeFromNodeList(address account) private {
        uint256 index = _nodeListSlot[account] - 1;
        uint256 last = _nodeList.length - 1;
        if (index != last) {
            address moved = _nodeList[last];
            _nodeList[index] = moved;
            _nodeListSlot[moved] = index + 1;
        }
        _nodeList.pop();
        delete _nodeListSlot[account];
    }

    /// @dev Stakes are sums of msg.value, so they fit in 96 bits on any chain with under 79 billion ether.
    function _toUint96(uint256 value) private pure returns (uint96) {
        assert(value <= type(uint96).max);
        return uint96(value);
    }
}
