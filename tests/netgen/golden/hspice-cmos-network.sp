* memprop golden export

* global supply nodes and generic level-1 MOSFET cards (not a foundry's)
.global vdd_cmos vss_cmos vhi_cmos
.model nch nmos level=1 vto=0.45 kp=0.0002 gamma=0.4 phi=0.8 lambda=0.02 tox=4e-09 cgso=2e-10 cgdo=2e-10 cj=0.001 cjsw=2e-10
.model pch pmos level=1 vto=-0.45 kp=8e-05 gamma=0.4 phi=0.8 lambda=0.02 tox=4e-09 cgso=2e-10 cgdo=2e-10 cj=0.001 cjsw=2e-10

* two-stage Miller OTA (generic level-1 MOSFETs), class-A output stage between vop and von
.subckt ota inp inn out vop von wout=0.0001 wsink=5e-05
ib vdd_cmos nb dc 2e-05
m8 nb nb vss_cmos vss_cmos nch w=1e-05 l=1e-06
m5 tail nb vss_cmos vss_cmos nch w=2e-05 l=1e-06
m1 o1 inp tail vss_cmos nch w=2e-05 l=1e-06
m2 d2 inn tail vss_cmos nch w=2e-05 l=1e-06
m3 d2 d2 vdd_cmos vdd_cmos pch w=2.5e-05 l=1e-06
m4 o1 d2 vdd_cmos vdd_cmos pch w=2.5e-05 l=1e-06
m6 out o1 vop vdd_cmos pch w='wout' l=1e-06
m7 out nb von vss_cmos nch w='wsink' l=1e-06
cc o1 zc 2e-12
rz zc out 2000
.ends ota

* cmos neuron: integrator, rail-clipping amplifier (V in [0, 1] V) and inverter; supplies +/-2.5 V
.subckt neuron n s v vm
x1 0 n s vdd_cmos vss_cmos ota wout=0.0002 wsink=0.001
rf n s 10000
cf n s 1e-10
r1 s m 10000
r2 v m 10000
x2 0 m v vhi_cmos 0 ota wout=0.0004 wsink=0.002
r3 v m3 10000
r4 vm m3 10000
x3 0 m3 vm vdd_cmos vss_cmos ota wout=0.0001 wsink=0.002
.ends neuron

* differential pair: G+ = 1/r_pos from the +V line, G- = 1/r_neg from the -V line
.subckt diffpair sv svm t r_pos=100000 r_neg=100000
rp sv t 'r_pos'
rm svm t 'r_neg'
.ends diffpair

* supplies of the cmos neurons
vdd_cmos vdd_cmos 0 dc 2.5
vss_cmos vss_cmos 0 dc -2.5
vhi_cmos vhi_cmos 0 dc 1

* input and bias lines: +V sources, -V through inverters
vx_000 x_000_v 0 dc 0.1
ex_000 x_000_vm 0 x_000_v 0 -1
vx_001 x_001_v 0 dc 0.5
ex_001 x_001_vm 0 x_001_v 0 -1
vx_002 x_002_v 0 dc 0.9
ex_002 x_002_vm 0 x_002_v 0 -1
vx_003 x_003_v 0 dc 0.3
ex_003 x_003_vm 0 x_003_v 0 -1
vb_000 b_000_v 0 dc 1
eb_000 b_000_vm 0 b_000_v 0 -1

* neurons
xl1_000 l1_000_n l1_000_s l1_000_v l1_000_vm neuron
xl1_001 l1_001_n l1_001_s l1_001_v l1_001_vm neuron
xl1_002 l1_002_n l1_002_s l1_002_v l1_002_vm neuron
xl2_000 l2_000_n l2_000_s l2_000_v l2_000_vm neuron
xl2_001 l2_001_n l2_001_s l2_001_v l2_001_vm neuron

* crossbar l1_x: 3 x 4 pairs from x into l1
xs_l1_x_000_000 x_000_v x_000_vm l1_000_n diffpair r_pos=35174.6411007 r_neg=13779.7175901
xs_l1_x_000_001 x_001_v x_001_vm l1_000_n diffpair r_pos=31403.1837203 r_neg=14460.0414529
xs_l1_x_000_002 x_002_v x_002_vm l1_000_n diffpair r_pos=12564.1319388 r_neg=46710.7474607
xs_l1_x_000_003 x_003_v x_003_vm l1_000_n diffpair r_pos=78624.0311286 r_neg=11327.4346142
xs_l1_x_001_000 x_000_v x_000_vm l1_001_n diffpair r_pos=16731.4990242 r_neg=24252.7179153
xs_l1_x_001_001 x_001_v x_001_vm l1_001_n diffpair r_pos=13954.6710194 r_neg=34083.8517664
xs_l1_x_001_002 x_002_v x_002_vm l1_001_n diffpair r_pos=46285.0377597 r_neg=12595.2918945
xs_l1_x_001_003 x_003_v x_003_vm l1_001_n diffpair r_pos=107358.564117 r_neg=10906.8596369
xs_l1_x_002_000 x_000_v x_000_vm l1_002_n diffpair r_pos=33708.3820344 r_neg=14018.6021922
xs_l1_x_002_001 x_001_v x_001_vm l1_002_n diffpair r_pos=15366.7745702 r_neg=27836.1292281
xs_l1_x_002_002 x_002_v x_002_vm l1_002_n diffpair r_pos=17773.1393161 r_neg=22353.7018346
xs_l1_x_002_003 x_003_v x_003_vm l1_002_n diffpair r_pos=55242.3285758 r_neg=12063.026074

* crossbar l2_l1: 2 x 3 pairs from l1 into l2
xs_l2_l1_000_000 l1_000_v l1_000_vm l2_000_n diffpair r_pos=23191.0554183 r_neg=17277.1468436
xs_l2_l1_000_001 l1_001_v l1_001_vm l2_000_n diffpair r_pos=14483.1842536 r_neg=31294.5848775
xs_l2_l1_000_002 l1_002_v l1_002_vm l2_000_n diffpair r_pos=23786.0295819 r_neg=16961.0784093
xs_l2_l1_001_000 l1_000_v l1_000_vm l2_001_n diffpair r_pos=15363.4327662 r_neg=27847.1015576
xs_l2_l1_001_001 l1_001_v l1_001_vm l2_001_n diffpair r_pos=10000 r_neg=1000000
xs_l2_l1_001_002 l1_002_v l1_002_vm l2_001_n diffpair r_pos=14173.591753 r_neg=32844.7636778

* crossbar l1_l2: 3 x 2 pairs from l2 into l1 (programmed as the transpose of l2_l1)
xs_l1_l2_000_000 l2_000_v l2_000_vm l1_000_n diffpair r_pos=23191.0554183 r_neg=17277.1468436
xs_l1_l2_000_001 l2_001_v l2_001_vm l1_000_n diffpair r_pos=15363.4327662 r_neg=27847.1015576
xs_l1_l2_001_000 l2_000_v l2_000_vm l1_001_n diffpair r_pos=14483.1842536 r_neg=31294.5848775
xs_l1_l2_001_001 l2_001_v l2_001_vm l1_001_n diffpair r_pos=10000 r_neg=1000000
xs_l1_l2_002_000 l2_000_v l2_000_vm l1_002_n diffpair r_pos=23786.0295819 r_neg=16961.0784093
xs_l1_l2_002_001 l2_001_v l2_001_vm l1_002_n diffpair r_pos=14173.591753 r_neg=32844.7636778

* crossbar l1_b: 3 x 1 pairs from b into l1
xs_l1_b_000_000 b_000_v b_000_vm l1_000_n diffpair r_pos=19801.980198 r_neg=19801.980198
xs_l1_b_001_000 b_000_v b_000_vm l1_001_n diffpair r_pos=19801.980198 r_neg=19801.980198
xs_l1_b_002_000 b_000_v b_000_vm l1_002_n diffpair r_pos=19801.980198 r_neg=19801.980198

* crossbar l2_b: 2 x 1 pairs from b into l2
xs_l2_b_000_000 b_000_v b_000_vm l2_000_n diffpair r_pos=19801.980198 r_neg=19801.980198
xs_l2_b_001_000 b_000_v b_000_vm l2_001_n diffpair r_pos=19801.980198 r_neg=19801.980198
